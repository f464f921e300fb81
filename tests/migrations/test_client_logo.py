"""Revision 0011 (client logo): up and down on SQLite and PostgreSQL keep every client."""

from __future__ import annotations

from sqlalchemy import inspect, text

from migrations import runner

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def _columns(engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("clients")}


def test_logo_column_comes_and_goes_and_the_client_stays(engine):
    runner.upgrade(engine, "0010")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clients (client_id, name, redirect_uris, post_logout_redirect_uris,"
                " grant_types, scopes, token_endpoint_auth_method, subject_type,"
                " id_token_signed_response_alg, access_token_signed_alg, first_party,"
                " created_at, updated_at) VALUES ('gjj', '公积金中心', '[]', '[]', '[]', '[]',"
                " 'none', 'pairwise', 'RS256', 'ES256', false, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            )
        )
    assert "logo" not in _columns(engine)

    runner.upgrade(engine, "0011")
    assert "logo" in _columns(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT logo FROM clients")).scalar_one() is None
        conn.execute(text("UPDATE clients SET logo = :logo"), {"logo": PNG})
        assert bytes(conn.execute(text("SELECT logo FROM clients")).scalar_one()) == PNG

    runner.downgrade(engine, "0010")
    assert "logo" not in _columns(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM clients")).scalar_one() == "公积金中心"
    runner.upgrade(engine, "0011")
    assert runner.current(engine) == "0011"
