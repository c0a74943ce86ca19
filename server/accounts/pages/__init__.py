"""Dashboard pages of the account, one concern a module: login, mode and account switching, home, team,
invitations, settings and the audit log."""

from __future__ import annotations

from server.accounts.pages import audit, home, invitations, login, mode, settings, team

HANDLERS = [*login.HANDLERS, *mode.HANDLERS, *home.HANDLERS, *team.HANDLERS, *invitations.HANDLERS,
            *settings.HANDLERS, *audit.HANDLERS]
