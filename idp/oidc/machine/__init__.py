"""The machine-to-machine endpoints (token, introspection, revocation) as one lean WSGI
pipeline mounted beside the Flask app: `app.py` dispatches and answers, `requests.py`
reads a request, `responses.py` writes an answer."""
