"""Closed lists of the specification, as stored values (labels live in ``core.glossary``)."""

OPERATION_DOCUMENT_TYPES = ("quote", "order", "delivery_note", "invoice", "credit_note", "down_payment")
SEQUENCE_DOCUMENT_TYPES = (
    "works_quote", "quote", "order", "delivery_note", "invoice", "credit_note", "intervention", "equipment",
)
GAPLESS_DOCUMENT_TYPES = ("invoice", "credit_note")
DOCUMENT_TITLE_TYPES = OPERATION_DOCUMENT_TYPES + ("works_quote", "progress_invoice")

PRICE_METHODS = ("purchase_x_coefficient", "sales_tariff")
COST_VALUATION_METHODS = ("purchase_price", "cost_price", "weighted_average_cost", "standard_cost", "none")
REFERENCING_SCOPES = ("quote_party", "site_party", "both")
SALESPERSON_INIT_MODES = (
    "quote_party", "site_then_site_party", "site_then_quote_party",
    "job_then_site_then_site_party", "job_then_quote_party",
)
LABOUR_GROUPINGS = ("none", "by_chapter", "by_document")
QUANTITY_PRICE_MODES = ("price_per", "quantity_and_unit_price", "by_line_type")
TIME_UNITS = ("minutes", "hours")
AUTOMATIC_REPORT_VALIDATIONS = ("none", "identical", "identical_or_more", "without_order", "all")
INTERVENTION_NUMBERINGS = ("erp", "crm")
BILLING_METHODS = ("grouped", "detailed")
PROGRESS_INPUTS = ("cumulative_percent", "relative_percent", "cumulative_quantity", "relative_quantity")
DOWN_PAYMENT_SPLITS = ("vat_depot_job_amendment_axes", "vat_depot")
DEDUCTION_MESSAGES = ("off", "information", "alert")
RECAP_CURRENT_PROGRESS = ("excluded", "included")
END_DATE_BASES = ("due_date", "term_date")
