"""Test helpers for the web pages: a cookie-keeping HTTP client over
``http.client`` that signs in and posts forms with their CSRF token, as a
browser without scripts would; and the demo base with passwords set."""
from __future__ import annotations

import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import quote, unquote, urlencode, urlsplit

TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')
PASSWORD = "demo password 2015"


class Page:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def csrf(self):
        found = TOKEN.search(self.text)
        return found.group(1) if found else ""

    def __repr__(self):
        return f"<{self.status} {self.text[:300]!r}>"


class WebClient:
    def __init__(self, base):
        self.base = base.rstrip("/")
        parts = urlsplit(self.base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(self, method, path, form=None, headers=None, follow=True):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, quote(path, safe="/?&=%:+,;@#~!$'()*"), body=body, headers=headers)
            resp = conn.getresponse()
            raw_headers = resp.getheaders()
            page = Page(resp.status, {k.lower(): v for k, v in raw_headers}, resp.read())
        finally:
            conn.close()
        for k, v in raw_headers:
            if k.lower() == "set-cookie":
                self.set_cookie_headers.append(v)
                jar = SimpleCookie()
                jar.load(v)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or morsel.value == "" or "1970" in (morsel["expires"] or ""):
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        if follow and page.status in (301, 302, 303) and page.header("location", "").startswith("/"):
            return self.request("GET", page.header("location"))
        return page

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form=None, token=None, **kw):
        """POST a form; ``token`` True takes the CSRF token of the page at ``path``'s card."""
        return self.request("POST", path, form=form, **kw)

    def submit(self, page_path, action=None, fields=None, follow=True):
        """GET ``page_path``, then POST its form (to ``action`` or itself)
        with the page's CSRF token and ``fields``."""
        page = self.get(page_path)
        form = {"csrf_token": page.csrf(), **(fields or {})}
        return self.request("POST", action or page_path, form=form, follow=follow)

    def sign_in(self, login, password=PASSWORD, next_path=None):
        page = self.get("/signin" + (f"?next={next_path}" if next_path else ""))
        form = {"csrf_token": page.csrf(), "login": login, "password": password}
        next_path = unquote(next_path) if next_path else next_path
        if next_path:
            form["next"] = next_path
        return self.request("POST", "/signin", form=form, follow=False)


def load_demo(url, passwords=True):
    """The demo base at ``url``, an administrator ``boss``, and every user's
    password set to ``PASSWORD``; returns the registry."""
    import crmkit
    from crmkit.core.passwords import set_password
    crm = crmkit.open(url)
    try:
        with crm.transaction():
            for _ in crm.call_in_order("crmkit_load_demo", crm=crm):
                pass
        crm.create("core.user", {"login": "boss", "name": "Boss", "roles": "administrator"})
        if passwords:
            for user in crm.find("core.user"):
                set_password(crm, user.login, PASSWORD)
        return crm.registry
    finally:
        crm.close()
