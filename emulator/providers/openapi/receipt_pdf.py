"""Openapi.it IT-receipts as PDF: a "documento commerciale" page (GET /IT-receipts/{id} as PDF).

A narrow, till-roll shaped page (80 mm wide, as long as the content) in Helvetica with selectable
text: the merchant, the document's kind and number, the items, totals, VAT breakdown and payments.
Text outside Windows-1252 (the core fonts' encoding) is shown with "?".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

WIDTH = 80.0
MARGIN = 4.0
LINE = 4.2

KINDS = {
    "sale": "DOCUMENTO COMMERCIALE di vendita o prestazione",
    "return": "DOCUMENTO COMMERCIALE emesso per RESO MERCE",
    "void": "DOCUMENTO COMMERCIALE emesso per ANNULLAMENTO",
}
PAYMENTS = (
    ("cash_payment_amount", "Pagamento contante"),
    ("electronic_payment_amount", "Pagamento elettronico"),
    ("ticket_restaurant_payment_amount", "Ticket restaurant"),
    ("goods_uncollected_amount", "Non riscosso beni"),
    ("services_uncollected_amount", "Non riscosso servizi"),
)


def _money(value: Any) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def _safe(text: str) -> str:
    return text.encode("windows-1252", errors="replace").decode("windows-1252")


def _lines(receipt: dict[str, Any], merchant: str) -> list[tuple[str, str, str]]:
    """(style, left text, right text) rows of the receipt, top to bottom."""
    rows: list[tuple[str, str, str]] = [
        ("B", merchant, ""),
        ("", f"P.IVA {receipt['fiscal_id']}", ""),
        ("", "", ""),
    ]
    rows.append(("B", KINDS.get(receipt["type"], receipt["type"]), ""))
    rows.append(("", "", ""))
    rows.append(("B", "DESCRIZIONE", "IVA   PREZZO(EUR)"))
    for item in receipt["items"]:
        quantity = item["return"] if receipt["type"] != "sale" else item["quantity"]
        label = f"{item['description']}"
        if Decimal(str(quantity)) != 1:
            label = f"{Decimal(str(quantity)).normalize():f} x {_money(item['gross_price'])}  {label}"
        price = "OMAGGIO" if item.get("complimentary") else _money(item["total_amount"])
        rows.append(("", label, f"{item['vat_rate']}   {price}"))
        if item.get("gross_discount"):
            rows.append(("", "  Sconto", f"-{_money(item['gross_discount'])}"))
    rows.append(("", "", ""))
    if receipt.get("discount"):
        rows.append(("", "Sconto a pagare", f"-{_money(receipt['discount'])}"))
    rows.append(("B", "TOTALE COMPLESSIVO", _money(receipt["total_amount"])))
    rows.append(("", "di cui IVA", _money(receipt["total_vat_amount"])))
    for field, label in PAYMENTS:
        if receipt.get(field):
            rows.append(("", label, _money(receipt[field])))
    rows.append(("", "", ""))
    if receipt.get("lottery_code"):
        rows.append(("", "Codice lotteria", str(receipt["lottery_code"])))
    rows.append(
        ("", "Data", str(receipt.get("document_date") or receipt["created_at"])[:16].replace("T", " "))
    )
    rows.append(("", "Documento N.", receipt.get("document_number") or "(non ancora trasmesso)"))
    rows.append(("", "Stato", str(receipt["status"])))
    rows.append(("", "Id", str(receipt["id"])))
    return rows


def render_receipt_pdf(receipt: dict[str, Any], merchant: str) -> bytes:
    """The PDF of a receipt as ``receipts.serialize`` shows it; ``merchant`` is the company name."""
    rows = _lines(receipt, merchant)
    height = 2 * MARGIN + LINE * (len(rows) + 4) + LINE * sum(len(left) // 34 for _, left, _ in rows)
    from fpdf import FPDF  # imported on the first PDF (see emulator.sdi.rendering)

    pdf = FPDF(orientation="P", unit="mm", format=(WIDTH, max(height, 60.0)))
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN)
    pdf.set_title(
        _safe(f"{KINDS.get(receipt['type'], '')} {receipt.get('document_number') or receipt['id']}")
    )
    pdf.set_creator("fattura-sandbox")
    pdf.add_page()
    usable = WIDTH - 2 * MARGIN
    for style, left, right in rows:
        pdf.set_font("Helvetica", style=style, size=7.5)
        right_width = pdf.get_string_width(_safe(right)) + 1 if right else 0.0
        top = pdf.get_y()
        pdf.multi_cell(usable - right_width, LINE, _safe(left) or " ", new_x="LMARGIN", new_y="NEXT")
        bottom = pdf.get_y()
        if right:
            pdf.set_xy(MARGIN + usable - right_width, top)
            pdf.cell(right_width, LINE, _safe(right), align="R")
            pdf.set_xy(MARGIN, bottom)
    return bytes(pdf.output())
