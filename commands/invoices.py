"""``flask --app app invoices pdf --tenant T NUMBER -o FILE.pdf``: the invoice or credit
note as its screen gives it (the stored Factur-X PDF once validated, ``invoicing.md``).
A draft is named by ``#ID`` (its id) since it has no number yet."""
import click
from flask.cli import with_appcontext
from sqlalchemy import select

from commands.context import tenant_context
from core import transaction
from core.extensions import db
from models.invoices import Invoice
from rules.documents import DocumentError, invoice_pdf


@click.group("invoices", help="Invoices and credit notes.")
def invoices_group():
    pass


@invoices_group.command("pdf", help="Write the PDF of an invoice or credit note (Factur-X once validated).")
@click.option("--tenant", required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.argument("number")
@with_appcontext
def invoice_pdf_command(tenant, output, number):
    with tenant_context(tenant) as current:
        where = (Invoice.id == int(number[1:])) if number.startswith("#") and number[1:].isdigit() \
            else (Invoice.number == number.strip())
        invoice_id = db.session.execute(
            select(Invoice.id).where(Invoice.tenant_id == current.id, where)).scalar_one_or_none()
        if invoice_id is None:
            raise click.ClickException(f"no invoice numbered {number} in {current.code}")
        try:
            content, _name = invoice_pdf(invoice_id, current.id)
        except DocumentError as error:
            transaction.rollback()
            raise click.ClickException(str(error))
        transaction.commit()
    with open(output, "wb") as handle:
        handle.write(content)
    click.echo(f"{output}: {len(content)} bytes")
