"""Invoice PDFs (fpdf2), rendered from the ledger's read model of a successful payment, which is
itself built from the ledger's events: the same transaction always renders the same invoice, so
nothing needs storing beyond the `InvoiceIssued` event (key and filename)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF

from domain.money import exact


def _money(amount: Any, currency: str) -> str:
    """Exact to the cent (never through a binary float's formatting)."""
    return f"{currency} {exact(amount):,.2f}"


def _latin(text: Any) -> str:
    """The core PDF fonts cover Latin-1 only; anything else becomes '?' rather than failing."""
    return str(text or "").encode("latin-1", "replace").decode("latin-1")


def render_invoice(
    transaction: dict[str, Any], client: dict[str, Any], consultant: dict[str, Any], zone: ZoneInfo
) -> bytes:
    currency = transaction.get("currency") or "INR"
    paid_at = (transaction.get("metadata") or {}).get("verifiedAt") or transaction.get("createdAt")
    issued = datetime.fromisoformat(str(paid_at).replace("Z", "+00:00")).astimezone(zone)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {transaction['_id']}")
    pdf.set_creator("Consultation marketplace")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, value in (
        ("Invoice number", f"INV-{transaction['_id']}"),
        ("Date", f"{issued:%d %b %Y, %H:%M} ({zone.key})"),
        ("Payment reference", transaction.get("transactionId", "")),
        ("Payment method", transaction.get("paymentMethod", "")),
        ("Status", transaction.get("status", "")),
    ):
        pdf.cell(45, 6, _latin(label))
        pdf.cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(95, 7, "Billed to")
    pdf.cell(0, 7, "Consultant", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    consultant_name = consultant.get("displayName") or consultant.get("name") or consultant.get("fullName") or ""
    category = (
        (consultant.get("category") or {}).get("name", "") if isinstance(consultant.get("category"), dict) else ""
    )
    for left, right in (
        (client.get("fullName") or client.get("name") or "", consultant_name),
        (client.get("email", ""), consultant.get("email", "")),
        (client.get("mobile", ""), category),
    ):
        pdf.cell(95, 6, _latin(left))
        pdf.cell(0, 6, _latin(right), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(130, 8, "Description", border=1)
    pdf.cell(0, 8, "Amount", border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    appointment = transaction.get("appointment")
    appointment_id = appointment.get("_id") if isinstance(appointment, dict) else appointment
    description = f"Consultation session (appointment {appointment_id})" if appointment_id else "Consultation"
    pdf.cell(130, 8, _latin(description), border=1)
    pdf.cell(0, 8, _money(transaction.get("amount"), currency), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(130, 8, "Total paid", border=1)
    pdf.cell(0, 8, _money(transaction.get("amount"), currency), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.ln(4)
    pdf.multi_cell(
        0,
        5,
        _latin(
            f"Of which platform fee {_money(transaction.get('platformFee'), currency)}; consultant's share "
            f"{_money(transaction.get('netAmount'), currency)}. Transaction {transaction['_id']}."
        ),
    )
    return bytes(pdf.output())
