"""The login page of the live fake IdP: who signs in, and how it ends.

A developer picks an actor (the configured users) or types a username and password, and chooses the
outcome on the spot (``outcomes.yaml``: success, a wrong password, a locked account, a required action,
consent granted or denied, an upstream identity provider, any neutral error code), so every branch of
an app is one click away. The page has no
script; its form is protected by the server's guard (same origin only) and a CSRF token that must
match a SameSite=Strict cookie.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.oidc.provider import AuthRequest

CSRF_COOKIE = "idp_emulator_login"
FORM_PATH = "/oidc/login"
# no script at all; the form may end in a redirect to the app (so no form-action limit)
POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make the form post say Origin: null
    "Cache-Control": "no-store",
}
STYLE = """
body{font:16px/1.4 system-ui,sans-serif;background:#f3f4f6;margin:0;display:flex;justify-content:center}
main{background:#fff;margin:4rem 1rem;padding:2rem;border-radius:8px;max-width:26rem;width:100%;
box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 .3rem}p.client{color:#555;margin:0 0 1.2rem}
label{display:block;margin:.7rem 0 .2rem;font-weight:600}input,select{width:100%;box-sizing:border-box;
padding:.45rem;font:inherit}fieldset{border:1px solid #ddd;margin:1rem 0;padding:.5rem .8rem}
fieldset label{font-weight:400;display:flex;gap:.4rem;align-items:center;margin:.3rem 0}
fieldset input{width:auto}.error{background:#fee2e2;color:#991b1b;padding:.6rem;border-radius:4px}
button{margin-top:1rem;width:100%;padding:.6rem;font:inherit;font-weight:600;background:#1d4ed8;color:#fff;
border:0;border-radius:4px;cursor:pointer}
"""


def login_page(
    request: AuthRequest, vendor: str, title: str, users: list[str], errors: list[str], message: str | None = None
) -> str:
    """The page for one authorization request (``message``: why the last attempt failed)."""
    from emulator.oidc.outcomes import CHOSEN, DEFAULT_UPSTREAM, outcomes

    options = "".join(f'<option value="{escape(u)}">{escape(u)}</option>' for u in users)
    codes = "".join(f'<option value="{escape(code)}">{escape(code)}</option>' for code in errors)
    choices = []
    for outcome in outcomes().values():
        checked = " checked" if outcome.name == "success" else ""
        choices.append(
            f'<label><input type="radio" name="outcome" value="{escape(outcome.name)}"{checked}>'
            f"{escape(outcome.label)}</label>"
        )
        if outcome.error == CHOSEN:
            choices.append(f'<select name="error" aria-label="Error code">{codes}</select>')
    upstream = (
        f'<label for="upstream">Upstream identity provider (alias)</label>'
        f'<input id="upstream" name="upstream" value="{DEFAULT_UPSTREAM}">'
    )
    problem = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    users_list = f'<datalist id="users">{options}</datalist>' if users else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in to {escape(title)}</title><style>{STYLE}</style></head>
<body><main>
<h1>Sign in to {escape(title)}</h1>
<p class="client">{escape(request.client.id)} asks to sign you in ({escape(vendor)}, idp-emulator)</p>
{problem}
<form method="post" action="{FORM_PATH}">
<input type="hidden" name="request" value="{escape(request.id)}">
<input type="hidden" name="csrf" value="{escape(request.csrf)}">
<input type="hidden" name="vendor" value="{escape(vendor)}">
<label for="username">Username or email</label>
<input id="username" name="username" list="users" autocomplete="username" required autofocus>
{users_list}
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<fieldset><legend>Outcome</legend>{"".join(choices)}
{upstream}</fieldset>
<button type="submit">Sign in</button>
</form></main></body></html>"""
