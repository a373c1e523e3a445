"""The content security policy of every page (django-csp; `settings.CONTENT_SECURITY_POLICY`).

Every page loads scripts, styles, images and fonts from the site itself and nothing inline.
Django's admin writes one inline <style> on a change list with no actions
(admin/change_list.html: "#changelist table thead th:first-child {width: inherit}"): its hash
is allowed, and nothing else. The browser test tests/security/test_content_security_policy.py
loads every kind of page under this policy and fails on any violation.
"""

ADMIN_CHANGE_LIST_STYLE_HASH = "'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='"

POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", ADMIN_CHANGE_LIST_STYLE_HASH],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
