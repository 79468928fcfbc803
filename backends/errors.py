"""The one table from WhatsApp error code to a typed error and a sentence an agent understands.

Facts from ../shared/reference/whatsapp-cloud-api.md section 8 (Meta's error-code page). Both paths
end here: a Graph error response and a `failed` status webhook carry the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass


class WhatsAppError(Exception):
    """WhatsApp refused or failed a request. `code` is WhatsApp's; `sentence` is for the agent."""

    def __init__(self, code: int, details: str = "", http_status: int = 400) -> None:
        self.code = code
        self.details = details
        self.http_status = http_status
        self.sentence = describe(code)
        super().__init__(f"({code}) {self.sentence}")


class AuthError(WhatsAppError):
    """The access token or the app's permissions: an admin must act."""


class ThrottledError(WhatsAppError):
    """Too many requests: WhatsApp did nothing, later may work."""


class IntegrityError(WhatsAppError):
    """The account is restricted: nothing will send until Meta lifts it."""


class WindowClosedError(WhatsAppError):
    """131047: free text outside the 24-hour window."""


class TemplateError(WhatsAppError):
    """132xxx: the template, its language or its parameters."""


class UndeliverableError(WhatsAppError):
    pass


class TemporaryError(WhatsAppError):
    """WhatsApp is down or failed for now: later may work."""


class OutcomeUnknown(Exception):
    """The request left and no answer came back: the message may or may not have been sent."""


class NotSent(Exception):
    """The backend sent nothing and says why (the hub could not be reached before the request
    left): the message failed, and nothing will send it behind the agent's back."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


@dataclass(frozen=True, slots=True)
class _Entry:
    cls: type[WhatsAppError]
    sentence: str
    """For the agent."""
    http_status: int = 400
    title: str = ""
    """Meta's title on its error-code page ("" where we have none): the emulator answers with it."""
    refused: bool = False
    """WhatsApp turned the request away before acting on it: resending cannot make a duplicate
    (backends/cloud/graph.py retries these, sends included)."""


ERRORS: dict[int, _Entry] = {
    0: _Entry(AuthError, "WhatsApp could not authenticate the desk; an admin must renew the access token.", 401, title="AuthException"),
    3: _Entry(AuthError, "This WhatsApp account lacks a capability the desk needs; ask an admin.", 403),
    10: _Entry(AuthError, "A WhatsApp permission is missing; ask an admin to grant it.", 403, title="Permission Denied"),
    131005: _Entry(AuthError, "WhatsApp denied the desk access to this; ask an admin to check the app's permissions.", 403, title="Access denied"),
    190: _Entry(AuthError, "The WhatsApp access token has expired; an admin must set a new one and restart the desk.", 401, title="Access token has expired"),
    4: _Entry(ThrottledError, "Too many requests to WhatsApp from this app; try again in a minute.", 429, title="API Too Many Calls", refused=True),
    80007: _Entry(ThrottledError, "The WhatsApp account's rate limit is reached; try again later.", 429, refused=True),
    130429: _Entry(ThrottledError, "WhatsApp's sending rate for this number is reached; try again shortly.", 429, title="Rate limit hit", refused=True),
    131048: _Entry(ThrottledError, "WhatsApp flagged recent messages as spam and is limiting this number.", 429),
    131056: _Entry(ThrottledError, "Too many messages to this customer in a short time; wait a few seconds and retry.", 429, title="(Business Account, Consumer Account) pair rate limit hit"),
    368: _Entry(IntegrityError, "The WhatsApp account is restricted for a policy violation.", 403),
    131031: _Entry(IntegrityError, "The WhatsApp account is locked.", 403),
    130497: _Entry(IntegrityError, "This account may not message customers in that country.", 403),
    1: _Entry(TemporaryError, "WhatsApp reported an invalid request or a server error.", 500, title="API Unknown"),
    2: _Entry(TemporaryError, "WhatsApp is temporarily unavailable; try again shortly.", 503, title="API Service", refused=True),
    131000: _Entry(TemporaryError, "WhatsApp reported an unknown error; try again.", 500, title="Something went wrong"),
    131016: _Entry(TemporaryError, "WhatsApp is temporarily unavailable; try again shortly.", 503, title="Service unavailable", refused=True),
    131057: _Entry(TemporaryError, "This number is in maintenance for up to a minute; try again shortly."),
    100: _Entry(WhatsAppError, "WhatsApp rejected a parameter of the request.", title="Invalid parameter"),
    130403: _Entry(UndeliverableError, "This customer is blocked by the business."),
    130472: _Entry(UndeliverableError, "WhatsApp held the message back (the customer is in a Meta experiment)."),
    131008: _Entry(WhatsAppError, "A required parameter was missing from the request.", title="Required parameter is missing"),
    131009: _Entry(WhatsAppError, "A parameter value was not valid.", title="Parameter value is not valid"),
    131021: _Entry(UndeliverableError, "A number cannot message itself.", title="Recipient cannot be sender"),
    131026: _Entry(UndeliverableError, "Undeliverable: the customer's number is not on WhatsApp, or their app is too old.", title="Message undeliverable"),
    131047: _Entry(WindowClosedError, "Not sent: more than 24 hours have passed since the customer last wrote; send an approved template instead.", title="Re-engagement message"),
    131049: _Entry(UndeliverableError, "WhatsApp held the message back to limit marketing to this customer; wait a day.", title="This message was not delivered to maintain healthy ecosystem engagement."),
    131050: _Entry(UndeliverableError, "The customer has opted out of marketing messages.", title="Unable to deliver message. Reasons can include: The recipient has stopped marketing messages."),
    131051: _Entry(WhatsAppError, "WhatsApp does not support this message type.", title="Message type unknown"),
    131052: _Entry(WhatsAppError, "The customer's media could not be downloaded (over 100 MB?); ask for another channel.", title="Media download error"),
    131053: _Entry(WhatsAppError, "The file could not be uploaded: its type does not match its contents.", title="Media upload error"),
    131062: _Entry(UndeliverableError, "This customer can only be reached by phone number, not username."),
    132000: _Entry(TemplateError, "The number of parameters does not match the template.", title="Number of parameters does not match the expected number of params"),
    132001: _Entry(TemplateError, "The template does not exist in that language or is not approved.", title="Template name does not exist in the translation"),
    132005: _Entry(TemplateError, "The template text is too long once its parameters are filled in.", title="Translated text too long"),
    132007: _Entry(TemplateError, "The template's content breaks WhatsApp policy."),
    132012: _Entry(TemplateError, "A template parameter is in the wrong format.", title="Parameter format does not match format in the created template"),
    132015: _Entry(TemplateError, "The template is paused for low quality; pick another.", 400, title="Template is Paused"),
    132016: _Entry(TemplateError, "The template is disabled; pick another.", 400, title="Template is Disabled"),
}


REFUSED_CODES = frozenset(code for code, entry in ERRORS.items() if entry.refused)
"""Codes that say the request was turned away before WhatsApp acted on it: safe to resend."""

AUTH_CODES = frozenset(code for code, entry in ERRORS.items() if entry.cls is AuthError)
"""Codes that mean the token or the app's permissions: nothing sends until an admin acts."""


def title(code: int) -> str:
    """Meta's title for an error code ("Re-engagement message" for 131047)."""
    entry = ERRORS.get(code)
    return entry.title if entry and entry.title else "Unknown error"


def describe(code: int) -> str:
    """The sentence for an agent; an unknown code still gets a sentence, with the number."""
    entry = ERRORS.get(code)
    return entry.sentence if entry else f"WhatsApp refused the message (error {code})."


def failure_text(code: int, details: str = "") -> str:
    """What the agent reads for a failed message: our sentence, then WhatsApp's own detail
    (`error_data.details`) when it says more, so nothing WhatsApp told us is hidden."""
    return _with_detail(describe(code), details)


def _with_detail(sentence: str, details: str) -> str:
    details = " ".join(details.split())
    if not details or details.rstrip(".").lower() in sentence.lower():
        return sentence
    return f"{sentence} WhatsApp: {details}"


def error_sentence(error: BaseException | None) -> str:
    """Any exception as one sentence for a person, without its traceback: WhatsApp's error as our
    sentence and its detail, a disk error with its file."""
    if isinstance(error, WhatsAppError):
        return _with_detail(error.sentence, error.details)
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}."
    text = str(error).strip() if error is not None else ""
    return f"{text.rstrip('.')}." if text else f"An unexpected {type(error).__name__}."


def error_for(code: int, details: str = "") -> WhatsAppError:
    """The typed error for a WhatsApp code."""
    entry = ERRORS.get(code)
    if entry is None:
        return WhatsAppError(code, details)
    return entry.cls(code, details, entry.http_status)
