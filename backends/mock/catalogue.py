"""The mock's template catalogue: what WhatsApp Manager would list for each business number.

Every status the desk must handle is present (APPROVED, PENDING, REJECTED, PAUSED, DISABLED), in
several languages, both parameter formats, every category (utility, marketing, authentication: what a
send costs depends on it), with headers, footers and buttons, so the template picker and the send
guards meet each case. Facts: whatsapp-cloud-api.md section 4.
"""

from __future__ import annotations

from desk.models import Template, TemplateButton, TemplateStatus

A, P, R, PA, D = (
    TemplateStatus.APPROVED,
    TemplateStatus.PENDING,
    TemplateStatus.REJECTED,
    TemplateStatus.PAUSED,
    TemplateStatus.DISABLED,
)
QR, URL, CODE = "QUICK_REPLY", "URL", "COPY_CODE"
U, M, AUTH = "UTILITY", "MARKETING", "AUTHENTICATION"

# (name, language, category, status, header, body, footer, buttons); the format follows the body.
_Spec = tuple[str, str, str, TemplateStatus, str | None, str, str | None, tuple[tuple[str, str], ...]]

_COMMON: tuple[_Spec, ...] = (
    ("order_update", "en_US", U, A, "Order update",
     "Hi {{1}}, your order {{2}} is now {{3}}. Reply here if anything looks wrong.",
     "Acme Store", ((URL, "Track order"), (QR, "Talk to an agent"))),
    ("order_update", "es", U, A, "Tu pedido",
     "Hola {{1}}, tu pedido {{2}} ahora está {{3}}. Responde aquí si algo no cuadra.",
     "Acme Store", ((URL, "Seguir pedido"), (QR, "Hablar con un agente"))),
    ("order_update", "el", U, A, "Η παραγγελία σας",
     "Γεια σας {{1}}, η παραγγελία σας {{2}} είναι τώρα {{3}}. Απαντήστε εδώ αν κάτι δεν πάει καλά.",
     "Acme Store", ((URL, "Παρακολούθηση"),)),
    ("delivery_delay", "en_US", U, A, None,
     "Hi {{first_name}}, we are sorry: order {{order_id}} is delayed. The new delivery date is {{delivery_date}}.",
     None, ((QR, "That's fine"), (QR, "Cancel my order"))),
    ("refund_processed", "en_US", U, A, "Refund for {{order_id}}",
     "Hi {{first_name}}, we have refunded {{amount}} for order {{order_id}}. It can take 5-10 working days to appear.",
     "Acme Store", ()),
    ("refund_processed", "lv", U, A, "Atmaksa {{order_id}}",
     "Sveiki, {{first_name}}! Pasūtījumam {{order_id}} esam atmaksājuši {{amount}}. "
     "Nauda kontā var parādīties 5–10 darba dienu laikā.",
     "Acme Store", ()),
    ("follow_up_after_window", "en_US", U, A, None,
     "Hi {{1}}, we have an update about your request. Reply to this message to continue the conversation.",
     None, ((QR, "Continue"),)),
    ("follow_up_after_window", "es", U, A, None,
     "Hola {{1}}, tenemos novedades sobre tu solicitud. Responde a este mensaje para continuar la conversación.",
     None, ((QR, "Continuar"),)),
    ("appointment_reminder", "gu", U, A, "મુલાકાતની યાદ",
     "નમસ્તે {{1}}, {{2}} ના રોજ {{3}} વાગ્યે તમારી મુલાકાતની યાદ અપાવીએ છીએ.",
     None, ((QR, "પુષ્ટિ કરો"), (QR, "સમય બદલો"))),
    ("thanks_for_contacting", "en_US", U, A, None,
     "Thanks for contacting Acme. An agent will reply as soon as possible.", None, ()),
    ("feedback_request", "en_US", M, P, None,
     "Hi {{first_name}}, how did we do? Rate your experience in one tap.",
     "Reply STOP to opt out", ((QR, "Great"), (QR, "Could be better"))),
    # An approved marketing and an authentication template: billed, except in a free entry point window.
    ("new_collection", "es", M, A, "Nueva colección",
     "Hola {{1}}, ya llegó la colección de otoño. Enseña este mensaje en tienda y llévate un {{2}} de descuento.",
     "Responde STOP para no recibir ofertas", ((URL, "Ver la colección"), (QR, "No más ofertas"))),
    ("verification_code", "en_US", AUTH, A, None,
     "{{1}} is your verification code. For your security, do not share this code.", None, ((CODE, "Copy code"),)),
)

_SALES: tuple[_Spec, ...] = (
    ("spring_sale", "en_US", M, PA, "Spring Sale 🌷",
     "Hi {{1}}, take {{2}} off everything until Sunday with code {{3}}.",
     "Reply STOP to opt out", ((URL, "Shop now"), (QR, "Stop promotions"))),
    ("black_friday_preview", "en_US", M, R, "Black Friday",
     "{{1}}, FINAL CHANCE!!! Everything must go, click now!!!", None, ((URL, "Shop"),)),
    ("winback_offer", "es", M, D, None,
     "Te echamos de menos, {{1}}: vuelve con un {{2}} de descuento.", None, ((URL, "Ver ofertas"),)),
)

_SUPPORT: tuple[_Spec, ...] = (
    ("satisfaction_survey", "en_US", M, PA, None,
     "Hi {{first_name}}, tell us about your last chat with {{agent_name}} and win a voucher.",
     "Reply STOP to opt out", ((URL, "Take the survey"),)),
    ("warranty_claim_update", "en_US", U, R, None,
     "Claim {{1}}: {{2}}", None, ()),
    ("legacy_ticket_notice", "en_US", U, D, None,
     "Hi {{1}}, ticket {{2}} was moved to our new help centre.", None, ((URL, "Open ticket"),)),
)


def catalogue(business_number_id: str, index: int) -> tuple[Template, ...]:
    """The templates of the `index`-th business number: the common set plus its department's own.

    Even numbers get the sales extras, odd ones the support extras: each set holds a PAUSED, a
    REJECTED and a DISABLED template, so every number has every status.
    """
    specs = _COMMON + (_SALES if index % 2 == 0 else _SUPPORT)
    return tuple(_template(business_number_id, index, k, spec) for k, spec in enumerate(specs))


def _template(business_number_id: str, index: int, k: int, spec: _Spec) -> Template:
    name, language, category, status, header, body, footer, buttons = spec
    named = "{{" in body and not body.split("{{", 1)[1][0].isdigit()
    return Template(
        name=name,
        language=language,
        category=category,
        status=status,
        business_number_id=business_number_id,
        body=body,
        header=header,
        footer=footer,
        buttons=tuple(TemplateButton(kind, text) for kind, text in buttons),
        parameter_format="NAMED" if named else "POSITIONAL",
        # Graph ids are 15-digit numbers, e.g. 920070352646140.
        id=str(920070352646140 + index * 100 + k),
    )


def find(templates: tuple[Template, ...], name: str, language: str) -> Template | None:
    """The template approved under exactly this name and language ("en-US" matches en_US)."""
    language = language.replace("-", "_")
    for template in templates:
        if template.name == name and template.language == language:
            return template
    return None
