"""The pages of a step that waits for an SMS code (registration, recovery, a new phone
number): the code form, a new code, another number. Each blueprint says where its pages
are and what they say; how the three answers go is here, once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.accounts.code_flows import Progress
from idp.web import code_words, forms


@dataclass(frozen=True)
class CodeStep:
    """Where one flow's code step is: its two forms and its code page."""

    start_form: str  # the form the step begins with, and goes back to
    code_form: str  # the form on the code page
    code_page: str  # the code page's endpoint (it takes the flow_id)
    phone_field: str = "phone"  # the start form's field for the number

    def to_code_page(self, flow_id: str) -> Response:
        return redirect(url_for(self.code_page, flow_id=flow_id), 303)

    def page(
        self,
        found: Progress | None,
        flow_id: str,
        *,
        template: str,
        to_start: Response,
        done: Callable[[Progress], Response | str],
        form_name: str = "form",
    ) -> Response | str:
        """The code page: the start form saying the page expired when the step is gone,
        `done` when Back (or Refresh) comes to a finished step, else the code form with
        what was refused and the wait before a new code."""
        if found is None:
            forms.refuse(self.start_form, {forms.WHOLE_FORM: code_words.step_gone()}, {})
            return to_start
        if found.done:
            return done(found)
        form: dict[str, Any] = {form_name: forms.refused(self.code_form)}
        return render_template(
            template,
            flow_id=flow_id,
            progress=found,
            wait=code_words.wait_words(found.resend_wait) if found.resend_wait else None,
            **form,
        )

    def resend_refused(self, flow_id: str, refusal: str) -> Response:
        """Back to the code page, the refusal next to "Send a new code"."""
        forms.refuse(self.code_form, {"resend": refusal}, request.form)
        return self.to_code_page(flow_id)

    def number_changed(self, phone: str | None, to_start: Response, **kept: str) -> Response:
        """Back to the start form with the number (and `kept`) to correct; `phone` is
        None when the step was gone or done: nothing to correct then."""
        if phone is not None:
            typed = {self.phone_field: phone, **kept}
            forms.refuse(self.start_form, {}, typed)  # kept to correct, not refused
        return to_start
