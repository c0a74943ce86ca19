"""Pages of payments: the public receipt, the Payments list and the Payment detail."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request, Response, get

from server.errors import PaydeckError
from server.payments import receipts
from server.web.render import render_page


@get("/receipts/{token:str}", include_in_schema=False)
async def receipt_page(request: Request, token: str) -> Response:
    try:
        data, cached = await receipts.public(token)
    except PaydeckError:
        return Response("<!doctype html><title>Not found</title><p>No such receipt.</p>", status_code=404,
                        media_type="text/html")
    data = {**data, "date_text": datetime.fromtimestamp(data["date"], UTC).strftime("%B %d, %Y")}
    return render_page(request, "payments/receipt.html", {"r": data},
                       headers={"X-Receipt-Cache": "hit" if cached else "miss", "Cache-Control": "private, max-age=60",
                                "Referrer-Policy": "no-referrer"})


HANDLERS = [receipt_page]
