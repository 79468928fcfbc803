"""Language detection (desk/language.py): a table per language, the texts that say nothing, the
conversation's rule, and a property test that no text makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk import language
from desk.language import LANGUAGES, TEXT_LIMIT, detect, language_after

CHAT = {
    "en": ["Hi, my order hasn't arrived yet, can you check?", "When will the refund be processed?", "can you help me"],
    "es": ["Hola, mi pedido todavía no ha llegado", "¿Cuándo me devuelven el dinero?", "me pueden ayudar"],
    "pt": ["Olá, o meu pedido ainda não chegou", "Quando vou receber o reembolso?", "vocês podem me ajudar"],
    "fr": ["Bonjour, ma commande n'est pas encore arrivée", "Quand serai-je remboursé ?", "pouvez-vous m'aider"],
    "de": ["Hallo, meine Bestellung ist noch nicht angekommen", "Wann bekomme ich mein Geld zurück?", "wo ist meine Bestellung"],
    "it": ["Ciao, il mio ordine non è ancora arrivato", "Quando riceverò il rimborso?", "Grazie mille per l'aiuto"],
    "el": ["Γεια σας, η παραγγελία μου δεν έχει φτάσει ακόμα", "Πότε θα πάρω πίσω τα χρήματά μου;", "ευχαριστώ πολύ"],
    "ar": ["مرحبا، طلبي لم يصل بعد", "متى سأسترد أموالي؟", "شكرا جزيلا على المساعدة"],
    "hi": ["नमस्ते, मेरा ऑर्डर अभी तक नहीं आया है", "मुझे रिफंड कब मिलेगा?", "मदद के लिए बहुत धन्यवाद"],
    "gu": ["નમસ્તે, મારો ઓર્ડર હજી આવ્યો નથી", "મને રિફંડ ક્યારે મળશે?", "મદદ માટે ખૂબ આભાર"],
    "tr": ["Merhaba, siparişim henüz gelmedi", "Paramı ne zaman geri alacağım?", "Yardımınız için çok teşekkürler"],
    "ru": ["Здравствуйте, мой заказ ещё не пришёл", "Когда мне вернут деньги?", "Большое спасибо за помощь"],
    "id": ["Halo, pesanan saya belum sampai", "Kapan uang saya dikembalikan?", "Terima kasih banyak atas bantuannya"],
    "lv": ["Sveiki, mans pasūtījums vēl nav atnācis", "Kad es saņemšu atmaksu?"],
    "ja": ["こんにちは、注文した商品がまだ届きません", "返金はいつになりますか？"],
}


@pytest.mark.parametrize(("code", "text"), [(code, text) for code, texts in CHAT.items() for text in texts])
def test_each_language(code: str, text: str):
    assert detect(text) == code


def test_the_issue_s_languages_are_all_candidates():
    assert {"en", "es", "pt", "fr", "de", "it", "el", "ar", "hi", "gu", "tr", "ru", "id"} <= set(LANGUAGES)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "ok", "OK", "ok ok", "hi", "thx", "lol", "sí", "👍", "😀😀😀", "12345", "+44 20 7946 0958", "?!",
     "order #12345", "https://example.com/x", "\x1b[2J\x1b[H", "\u202e\u202e\u202e"],
)
def test_texts_that_say_nothing_give_none(text: str):
    assert detect(text) is None


def test_several_texts_read_together():
    assert detect(["ok", "👍", "Muchas gracias por la ayuda"]) == "es"
    assert detect([]) is None


def test_the_parser_s_notes_are_not_the_customer_s_words():
    assert detect("[from ad: Chat with us] [forwarded] Hola, quiero información") == "es"
    assert detect("[from ad: Summer sale on everything in the shop]") is None
    assert detect("[sic] Bonjour, ma commande n'est pas encore arrivée") == "fr"


def test_control_characters_do_not_hide_the_language():
    assert detect("Vielen\x00 Dank\x1b für die \u202eHilfe, bis bald") == "de"
    assert detect("Muchas \ud800gracias por la ayuda\udfff") == "es"  # lone surrogates: no UTF-8 for them


def test_a_huge_text_is_read_from_a_bounded_prefix():
    assert len(language._bounded(["Hola amigos. " * 100_000, "more"])) <= TEXT_LIMIT
    assert detect("Muchas gracias por la ayuda. " * 100_000) == "es"


# --- a conversation's language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "text", "after"),
    [
        (None, "ok", None),  # nothing to go on yet
        (None, "Hola, mi pedido todavía no ha llegado", "es"),  # the first confident text decides
        ("es", "ok", "es"),  # a short text keeps it
        ("es", "👍", "es"),
        ("es", "12345", "es"),
        ("es", "merci beaucoup", "es"),  # confident, but too short to move a decided language
        ("es", "Bonjour, ma commande n'est pas encore arrivée, pouvez-vous vérifier ?", "fr"),  # moved to French
        ("es", "¿Cuándo me devuelven el dinero?", "es"),
        ("en", "Thanks", "en"),
        ("fr", "Hi, my order hasn't arrived yet, can you check it please?", "en"),
    ],
)
def test_language_after(current: str | None, text: str, after: str | None):
    assert language_after(current, text) == after


def test_a_text_too_short_to_move_a_decided_language_is_not_read_by_the_model(monkeypatch):
    read: list[str] = []
    model = language._identifier()

    class Counting:
        def classify(self, text: str) -> tuple[str, float]:
            read.append(text)
            return model.classify(text)

    monkeypatch.setattr(language, "_identifier", Counting)
    assert language_after("es", "merci beaucoup") == "es"
    assert read == []
    assert language_after(None, "merci beaucoup") == "fr" and read == ["merci beaucoup"]


# --- hostile input ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.text(), st.text(alphabet=st.characters(categories=["Cc", "Cf", "Cs", "Co", "Zs", "So"])), st.lists(st.text(), max_size=5)))
def test_never_raises(text: str | list[str]):
    result = detect(text)
    assert result is None or result in LANGUAGES
    assert language_after("en", text if isinstance(text, str) else " ".join(text)) in LANGUAGES


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.characters(), st.integers(1, 2_000_000))
def test_long_runs_of_one_character_never_raise(char: str, count: int):
    detect(char * count)
