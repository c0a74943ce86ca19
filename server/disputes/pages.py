"""Dashboard pages of disputes: the list (with a Claims tab), a dispute with its deadline, evidence and
timeline, and the evidence form with uploads. Data comes from stored GraphQL operations.

The evidence form is the one dashboard form that carries files: its handler stores each chosen file
through the files service (what `POST /v1/files` does; GraphQL, being JSON, carries no upload) and
then runs the `UpdateDispute` mutation with the new file ids like any form.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile

from server import operations
from server.context import RequestContext
from server.disputes import evidence
from server.errors import InvalidRequest, NotFound
from server.files import service as files
from server.files.rest import download
from server.files.sniff import MAX_BYTES
from server.permissions import write
from server.web.forms import error_of, posted, submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, redirect, show

FILES_PER_SAVE = 3  # the evidence form takes at most this many new files at once (each ≤ 5 MB)
EVIDENCE_FORM_MAX_BODY = FILES_PER_SAVE * MAX_BYTES + 256 * 1024


def _rights(ctx: RequestContext) -> dict[str, Any]:
    return {"can_manage": ctx.can(write("disputes"))}


@dashboard_get("/disputes")
async def disputes_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in evidence.STATUSES:
        raise InvalidRequest(f"unknown status '{status[:40]}'", param="status")
    variables = {"after": params.get("after"), "status": status}
    return await show(request, ctx, "DisputesPage", "disputes/list.html", "disputes", variables,
                      block="rows" if params.get("after") else None, status_filter=status or "",
                      statuses=evidence.STATUSES, tab="disputes")


async def _detail(request: Request, ctx: RequestContext, dispute_id: str, status: int = 200,
                  **extra: Any) -> Response:
    data = await operations.run("DisputePage", ctx, {"id": dispute_id})
    if data["dispute"] is None:
        raise NotFound(f"no dispute '{dispute_id}' in this mode")
    return await show(request, ctx, "DisputePage", "disputes/detail.html", "disputes", {"id": dispute_id},
                      status=status, text_fields=evidence.TEXT_FIELDS, file_fields=evidence.FILE_FIELDS,
                      awaiting=evidence.AWAITING_EVIDENCE, files_per_save=FILES_PER_SAVE, **_rights(ctx), **extra)


@dashboard_get("/disputes/{dispute_id:str}")
async def dispute_page(request: Request, dispute_id: str) -> Response:
    return await _detail(request, await dashboard_context(request), dispute_id)


async def _upload(ctx: RequestContext, form: dict[str, Any]) -> dict[str, str]:
    """Store the files chosen in the form; their ids by evidence field."""
    chosen = {name: form[f"file__{name}"] for name in evidence.FILE_FIELDS
              if isinstance(form.get(f"file__{name}"), UploadFile) and form[f"file__{name}"].filename}
    if len(chosen) > FILES_PER_SAVE:
        raise InvalidRequest(f"attach at most {FILES_PER_SAVE} files at a time, then save and attach more",
                             param="evidence")
    stored = {}
    for name, upload in chosen.items():
        content = await upload.read()
        try:
            made = await files.create(ctx, "dispute_evidence", upload.filename, content)
        except InvalidRequest as exc:
            raise InvalidRequest(f"{name.replace('_', ' ')}: {exc.message}", param=f"evidence[{name}]") from None
        stored[name] = made.id
    return stored


def _variables(dispute_id: str, form: dict[str, Any]) -> dict[str, Any]:
    """Every text field as typed (empty clears it), and each file field's id (kept, new, or removed)."""
    fields = [{"name": n, "value": str(form.get(f"ev__{n}", "")).strip()} for n in evidence.FIELDS]
    return {"id": dispute_id, "input": {"evidence": fields, "submit": form.get("action") == "submit"}}


@dashboard_post("/disputes/{dispute_id:str}/evidence", request_max_body_size=EVIDENCE_FORM_MAX_BODY)
async def dispute_evidence(request: Request, dispute_id: str) -> Response:
    form, ctx = await posted(request)
    page = partial(_detail, request, dispute_id=dispute_id)
    try:
        uploaded = await _upload(ctx, form)
    except InvalidRequest as exc:
        return await page(ctx, status=exc.status, error=error_of(exc), form=form)
    form.update({f"ev__{name}": file_id for name, file_id in uploaded.items()})
    submitting = form.get("action") == "submit"
    return await submit(request, "UpdateDispute", lambda _: _variables(dispute_id, form), page=page,
                        then=lambda done: _detail(request, done.ctx, dispute_id,
                                                  done="Evidence submitted to the issuer." if submitting
                                                  else "Draft saved."))


@dashboard_post("/disputes/{dispute_id:str}/close")
async def dispute_close(request: Request, dispute_id: str) -> Response:
    return await submit(request, "CloseDispute", {"id": dispute_id},
                        page=partial(_detail, request, dispute_id=dispute_id),
                        then=lambda _: redirect(request, f"/disputes/{dispute_id}"))


@dashboard_get("/disputes/files/{file_id:str}")
async def evidence_file(request: Request, file_id: str) -> Response:
    """An uploaded evidence file, downloaded (never shown inline in the dashboard's origin)."""
    ctx = await dashboard_context(request)
    return download(await files.content(ctx, file_id))


HANDLERS = [disputes_page, dispute_page, dispute_evidence, dispute_close, evidence_file]
