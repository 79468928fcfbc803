"""The mock's customers: names, numbers and message texts from a dozen countries and scripts.

Everything here is derived from one `random.Random`, so the same seed gives the same people on every
start (the store already holds their conversations, keyed on their ids). Texts are written in the
customer's language because the desk must show any script, right-to-left included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import phonenumbers

from desk.contacts import format_number
from desk.models import Customer, Location

TOPICS = ("greeting", "order", "refund", "delivery", "damaged", "thanks")
"""What a customer can write about; "damaged" is the caption of a photo."""


@dataclass(frozen=True, slots=True)
class _Place:
    name: str
    latitude: float
    longitude: float
    address: str


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    """ISO 3166 alpha-2: the phone number's country."""
    names: tuple[str, ...]
    """Full names, written the way their owners write them (family name first in Japanese)."""
    place: _Place


@dataclass(frozen=True, slots=True)
class _Language:
    code: str
    regions: tuple[_Region, ...]
    lines: dict[str, tuple[str, ...]]
    """Per topic, one or more variants; "{order}" is the customer's order number."""
    agent: tuple[str, ...]
    """What an agent answers in this language: first reply, an update, a closing line."""


@dataclass(frozen=True, slots=True)
class Person:
    """A mock customer: who they are, what they write, and where they are."""

    customer: Customer
    language: str
    lines: dict[str, str] = field(hash=False)
    """Per topic in TOPICS, the text this customer writes."""
    agent_lines: tuple[str, ...]
    """Replies an agent sends this customer, in their language."""
    place: Location
    order_id: str

    @property
    def id(self) -> str:
        return self.customer.id

    @property
    def phone_display(self) -> str | None:
        """The number as its owner writes it (phonenumbers' INTERNATIONAL format)."""
        return format_number(self.customer.phone) if self.customer.phone else None


_LANGUAGES: tuple[_Language, ...] = (
    _Language(
        "en",
        (
            _Region("GB", ("Oliver Smith", "Amelia Jones", "Harry Taylor", "Isla Brown", "George Evans"),
                    _Place("King's Cross Station", 51.5308, -0.1238, "Euston Rd, London N1 9AL")),
            _Region("US", ("Emily Johnson", "Michael Williams", "Sophia Davis", "James Miller", "Ava Wilson"),
                    _Place("Grand Central Terminal", 40.7527, -73.9772, "89 E 42nd St, New York, NY 10017")),
        ),
        {
            "greeting": ("Hi, is anyone there?", "Hello! I need some help with my order."),
            "order": ("Where is my order {order}? The site said 2-3 days.",),
            "refund": ("I returned the shoes last week. When will I get my refund?",),
            "delivery": ("Can you deliver to my office instead? I'm not home during the day.",),
            "damaged": ("The box arrived damaged, see photo.",),
            "thanks": ("Great, thank you so much!",),
        },
        ("Thanks for your message! Let me check that for you.",
         "I've looked into it: your order {order} is on its way and should arrive tomorrow.",
         "You're welcome. Is there anything else I can help with?"),
    ),
    _Language(
        "es",
        (
            _Region("ES", ("María García López", "Javier Fernández Ruiz", "Lucía Martínez", "Álvaro Sánchez"),
                    _Place("Puerta del Sol", 40.4169, -3.7035, "Plaza de la Puerta del Sol, 28013 Madrid")),
            _Region("MX", ("José Hernández", "Guadalupe Ramírez", "Alejandro Torres", "Ximena Peña"),
                    _Place("Zócalo", 19.4326, -99.1332, "Plaza de la Constitución, Centro, CDMX")),
        ),
        {
            "greeting": ("Hola, ¿hay alguien ahí?", "¡Buenas! Necesito ayuda con un pedido."),
            "order": ("¿Dónde está mi pedido {order}? Decía 2-3 días.",),
            "refund": ("Devolví las zapatillas la semana pasada. ¿Cuándo recibiré el reembolso?",),
            "delivery": ("¿Pueden entregarlo en mi oficina? No estoy en casa durante el día.",),
            "damaged": ("La caja llegó dañada, mira la foto.",),
            "thanks": ("¡Perfecto, muchas gracias!",),
        },
        ("¡Gracias por escribirnos! Lo reviso enseguida.",
         "Ya lo he comprobado: su pedido {order} está en camino y llegará mañana.",
         "De nada. ¿Puedo ayudarle en algo más?"),
    ),
    _Language(
        "el",
        (
            _Region("GR", ("Γιώργος Παπαδόπουλος", "Μαρία Κωνσταντίνου", "Νίκος Οικονόμου", "Ελένη Γεωργίου",
                           "Δημήτρης Αντωνίου"),
                    _Place("Σύνταγμα", 37.9755, 23.7348, "Πλατεία Συντάγματος, Αθήνα 105 63")),
        ),
        {
            "greeting": ("Γεια σας, υπάρχει κάποιος εκεί;", "Καλησπέρα! Χρειάζομαι βοήθεια με μια παραγγελία."),
            "order": ("Πού είναι η παραγγελία μου {order}; Έγραφε 2-3 ημέρες.",),
            "refund": ("Επέστρεψα τα παπούτσια την περασμένη εβδομάδα. Πότε θα πάρω πίσω τα χρήματα;",),
            "delivery": ("Μπορείτε να το παραδώσετε στο γραφείο μου; Δεν είμαι σπίτι το πρωί.",),
            "damaged": ("Το κουτί ήρθε χτυπημένο, δείτε τη φωτογραφία.",),
            "thanks": ("Τέλεια, ευχαριστώ πολύ!",),
        },
        ("Ευχαριστούμε για το μήνυμά σας! Το ελέγχω αμέσως.",
         "Το έλεγξα: η παραγγελία σας {order} είναι καθ' οδόν και θα φτάσει αύριο.",
         "Παρακαλώ. Μπορώ να βοηθήσω σε κάτι άλλο;"),
    ),
    _Language(
        "lv",
        (
            _Region("LV", ("Jānis Bērziņš", "Līga Kalniņa", "Andris Ozoliņš", "Ilze Liepiņa", "Mārtiņš Krūmiņš"),
                    _Place("Brīvības piemineklis", 56.9514, 24.1133, "Brīvības laukums, Rīga, LV-1050")),
        ),
        {
            "greeting": ("Labdien, vai kāds ir šeit?", "Sveiki! Man vajag palīdzību ar pasūtījumu."),
            "order": ("Kur ir mans pasūtījums {order}? Bija rakstīts 2–3 dienas.",),
            "refund": ("Pagājušajā nedēļā atgriezu apavus. Kad saņemšu naudu atpakaļ?",),
            "delivery": ("Vai varat piegādāt uz manu biroju? Dienā neesmu mājās.",),
            "damaged": ("Kaste pienāca bojāta, skatiet fotoattēlu.",),
            "thanks": ("Lieliski, liels paldies!",),
        },
        ("Paldies par ziņu! Tūlīt pārbaudīšu.",
         "Pārbaudīju: jūsu pasūtījums {order} ir ceļā un rīt būs klāt.",
         "Lūdzu! Vai varu vēl kā palīdzēt?"),
    ),
    _Language(
        "gu",
        (
            _Region("IN", ("અમિત પટેલ", "પ્રિયા શાહ", "રાજેશ દેસાઈ", "નેહા મહેતા", "કિરણ જોષી"),
                    _Place("માણેક ચોક", 23.0225, 72.5873, "માણેક ચોક, અમદાવાદ, ગુજરાત 380001")),
        ),
        {
            "greeting": ("નમસ્તે, કોઈ છે?", "હેલો! મને મારા ઓર્ડરમાં મદદ જોઈએ છે."),
            "order": ("મારો ઓર્ડર {order} ક્યાં છે? 2-3 દિવસ લખ્યું હતું.",),
            "refund": ("મેં ગયા અઠવાડિયે જૂતા પાછા મોકલ્યા. રિફંડ ક્યારે મળશે?",),
            "delivery": ("શું તમે મારી ઓફિસ પર ડિલિવરી કરી શકો? હું દિવસે ઘરે નથી હોતો.",),
            "damaged": ("બોક્સ તૂટેલું આવ્યું, ફોટો જુઓ.",),
            "thanks": ("સરસ, ખૂબ ખૂબ આભાર!",),
        },
        ("સંદેશ માટે આભાર! હું હમણાં તપાસું છું.",
         "મેં તપાસ્યું: તમારો ઓર્ડર {order} રસ્તામાં છે અને કાલે પહોંચશે.",
         "આપનું સ્વાગત છે. બીજી કોઈ મદદ જોઈએ?"),
    ),
    _Language(
        "ar",
        (
            _Region("SA", ("محمد العلي", "فاطمة الزهراني", "عبد الله القحطاني"),
                    _Place("برج المملكة", 24.7113, 46.6744, "طريق الملك فهد، الرياض")),
            _Region("EG", ("أحمد منصور", "ليلى حسن", "يوسف عبد الرحمن"),
                    _Place("ميدان التحرير", 30.0444, 31.2357, "ميدان التحرير، القاهرة")),
        ),
        {
            "greeting": ("مرحبا، هل يوجد أحد؟", "السلام عليكم! أحتاج مساعدة في طلبي."),
            "order": ("أين طلبي رقم {order}؟ كان مكتوبا ٢-٣ أيام.",),
            "refund": ("أرجعت الحذاء الأسبوع الماضي. متى سأسترد المبلغ؟",),
            "delivery": ("هل يمكنكم التوصيل إلى مكتبي؟ لست في البيت خلال النهار.",),
            "damaged": ("وصل الصندوق تالفا، انظر الصورة.",),
            "thanks": ("ممتاز، شكرا جزيلا!",),
        },
        ("شكرا لرسالتك! سأتحقق من ذلك الآن.",
         "لقد تحققت: طلبك {order} في الطريق وسيصل غدا.",
         "على الرحب والسعة. هل يمكنني مساعدتك في شيء آخر؟"),
    ),
    _Language(
        "ja",
        (
            _Region("JP", ("佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 健太"),
                    _Place("東京駅", 35.6812, 139.7671, "東京都千代田区丸の内1丁目")),
        ),
        {
            "greeting": ("こんにちは、どなたかいらっしゃいますか？", "すみません、注文について相談したいです。"),
            "order": ("注文 {order} はどこにありますか？2〜3日と書いてありました。",),
            "refund": ("先週靴を返品しました。返金はいつになりますか？",),
            "delivery": ("会社に配達してもらえますか？日中は家にいません。",),
            "damaged": ("箱が破損して届きました。写真をご覧ください。",),
            "thanks": ("ありがとうございます！助かりました。",),
        },
        ("ご連絡ありがとうございます。すぐに確認いたします。",
         "確認しました。ご注文 {order} は配送中で、明日到着予定です。",
         "どういたしまして。他にお手伝いできることはありますか？"),
    ),
    _Language(
        "de",
        (
            _Region("DE", ("Lukas Müller", "Anna Schäfer", "Jürgen Weiß", "Sophie Groß"),
                    _Place("Alexanderplatz", 52.5219, 13.4132, "Alexanderplatz, 10178 Berlin")),
        ),
        {
            "greeting": ("Hallo, ist da jemand?", "Guten Tag! Ich brauche Hilfe mit meiner Bestellung."),
            "order": ("Wo ist meine Bestellung {order}? Da stand 2–3 Tage.",),
            "refund": ("Ich habe die Schuhe letzte Woche zurückgeschickt. Wann bekomme ich mein Geld zurück?",),
            "delivery": ("Können Sie an mein Büro liefern? Tagsüber bin ich nicht zu Hause.",),
            "damaged": ("Der Karton kam beschädigt an, siehe Foto.",),
            "thanks": ("Super, vielen Dank!",),
        },
        ("Danke für Ihre Nachricht! Ich sehe sofort nach.",
         "Ich habe nachgesehen: Ihre Bestellung {order} ist unterwegs und kommt morgen an.",
         "Gern geschehen. Kann ich sonst noch helfen?"),
    ),
    _Language(
        "pt",
        (
            _Region("BR", ("João Silva", "Ana Souza", "Luíza Gonçalves", "Conceição Araújo"),
                    _Place("Avenida Paulista", -23.5614, -46.6559, "Av. Paulista, 1578, São Paulo - SP")),
        ),
        {
            "greeting": ("Oi, tem alguém aí?", "Olá! Preciso de ajuda com meu pedido."),
            "order": ("Cadê meu pedido {order}? Dizia 2 a 3 dias.",),
            "refund": ("Devolvi os tênis semana passada. Quando recebo o reembolso?",),
            "delivery": ("Vocês podem entregar no meu escritório? Não fico em casa durante o dia.",),
            "damaged": ("A caixa chegou amassada, veja a foto.",),
            "thanks": ("Perfeito, muito obrigado!",),
        },
        ("Obrigado pela mensagem! Vou verificar agora.",
         "Verifiquei: seu pedido {order} está a caminho e chega amanhã.",
         "De nada. Posso ajudar em mais alguma coisa?"),
    ),
    _Language(
        "fr",
        (
            _Region("FR", ("Chloé Dubois", "François Lefèvre", "Hélène Moreau", "Noël Girard"),
                    _Place("Gare de Lyon", 48.8443, 2.3744, "Place Louis-Armand, 75012 Paris")),
        ),
        {
            "greeting": ("Bonjour, il y a quelqu'un ?", "Bonjour ! J'ai besoin d'aide pour ma commande."),
            "order": ("Où en est ma commande {order} ? C'était indiqué 2 à 3 jours.",),
            "refund": ("J'ai renvoyé les chaussures la semaine dernière. Quand serai-je remboursé ?",),
            "delivery": ("Pouvez-vous livrer à mon bureau ? Je ne suis pas chez moi la journée.",),
            "damaged": ("Le carton est arrivé abîmé, voir la photo.",),
            "thanks": ("Parfait, merci beaucoup !",),
        },
        ("Merci pour votre message ! Je vérifie tout de suite.",
         "J'ai vérifié : votre commande {order} est en route et arrivera demain.",
         "Je vous en prie. Puis-je vous aider pour autre chose ?"),
    ),
)

_BY_CODE = {language.code: language for language in _LANGUAGES}

# The hostile customer: every line is something a terminal must never interpret. The UI has to store
# and show these literally; producing them is the mock's whole part.
HOSTILE_NAME = "[bold red]Mallory[/]"
HOSTILE_LONG_LINE = ("Refund-me-NOW!" * 150)[:2000]
_HOSTILE_LINES = {
    "greeting": "hi [@click=app.quit]quit[/] [bold]not bold[/bold] 😈",
    "order": "order \x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07 \u202eexe.txt\u202c 🔥📦",
    "refund": HOSTILE_LONG_LINE,
    "delivery": "[@click=app.quit]quit[/] \x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07 "
    "\u202edesrever\u202c 😈👍🏽",
    "damaged": "[link=http://evil]photo[/link] \x1b[2J\x1b[H",
    "thanks": "thx [/] [red",
}

# The one customer WhatsApp knows only by a username (section 11): no phone, a BSUID as id.
USERNAME_ID = "DE.1349120865530274191"
USERNAME = "@lena.k"


def make_people(rng: random.Random, count: int) -> list[Person]:
    """`count` customers (at least one per country, plus the two special ones), deterministic from `rng`.

    The first two are special: the hostile customer, then the username-only one.
    """
    regions = [(language, region) for language in _LANGUAGES for region in language.regions]
    count = max(count, len(regions) + 2)
    taken: set[str] = set()
    people = [_hostile(rng, taken), _username_only(rng)]
    names_left: dict[str, list[str]] = {}
    for i in range(count - 2):
        # Round robin over the countries so every script is present for any count that allows it.
        language, region = regions[i % len(regions)]
        if not names_left.get(region.code):
            names_left[region.code] = rng.sample(region.names, len(region.names))
        name = names_left[region.code].pop()
        phone = random_phone(rng, region.code, taken)
        customer = Customer(id=phone.lstrip("+"), name=name, phone=phone, country=region.code)
        people.append(_person(rng, customer, language, region.place))
    return people


def random_phone(rng: random.Random, region: str, taken: set[str]) -> str:
    """A valid, unused mobile number of `region` as E.164, from the country's example number.

    The example number's leading digits keep a real mobile prefix; the rest are drawn from `rng`
    until phonenumbers calls the result valid.
    """
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:  # pragma: no cover - every region the mock draws from has one
        raise RuntimeError(f"phonenumbers has no example mobile number for {region}")
    national = phonenumbers.national_significant_number(example)
    for attempt in range(1000):
        tail = min(6 + attempt // 100, len(national) - 1)
        digits = national[: len(national) - tail] + "".join(str(rng.randrange(10)) for _ in range(tail))
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number) and e164 not in taken:
            taken.add(e164)
            return e164
    raise RuntimeError(f"no free valid number for {region}")  # pragma: no cover - 1000 draws


def _person(rng: random.Random, customer: Customer, language: _Language, place: _Place) -> Person:
    order_id = f"#{rng.randrange(10000, 99999)}"
    lines = {topic: rng.choice(language.lines[topic]).format(order=order_id) for topic in TOPICS}
    agent = tuple(line.format(order=order_id) for line in language.agent)
    location = Location(place.latitude, place.longitude, place.name, place.address)
    return Person(customer, language.code, lines, agent, location, order_id)


def _hostile(rng: random.Random, taken: set[str]) -> Person:
    phone = random_phone(rng, "US", taken)
    customer = Customer(id=phone.lstrip("+"), name=HOSTILE_NAME, phone=phone, country="US")
    person = _person(rng, customer, _BY_CODE["en"], _BY_CODE["en"].regions[1].place)
    return Person(customer, "en", dict(_HOSTILE_LINES), person.agent_lines, person.place, person.order_id)


def _username_only(rng: random.Random) -> Person:
    customer = Customer(id=USERNAME_ID, name="Lena K.", phone=None, username=USERNAME, country="DE")
    german = _BY_CODE["de"]
    return _person(rng, customer, german, german.regions[0].place)
