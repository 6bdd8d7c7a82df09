"""Realistic FatturaPA 1.2.3 invoices: what the SDI delivers into the sandbox's passive cycle.

``InvoiceGenerator(seed).generate(issue_date=...)`` writes an ordinary invoice (FPR12 to a
business or a consumer, FPA12 to a public administration) that is valid against the official
schema and passes the SDI's own checks: valid P.IVA and codice fiscale (computed, not random),
line totals computed by the SDI's rules, one DatiRiepilogo per rate/nature whose amounts add up,
ImportoTotaleDocumento and ImportoPagamento consistent with withholding tax and split payment.

Whatever the caller leaves out is invented with Faker ``it_IT`` and a table of real comuni
(CAP, provincia, codice catastale, the P.IVA office code of the province): companies, sole
traders, professionals (TD06 parcella with ritenuta d'acconto), consumers and public bodies.
Given the same seed, the same calls produce byte-identical XML.

Limitations: everything is in euro and every party is Italian unless the caller passes a foreign
``PartySpec``; no Allegati, DatiCassaPrevidenziale or DatiTrasporto are written. Fields the
caller passes are only checked against the schema, not against the SDI's semantic rules (a
7-character code on an FPA12 invoice, a Numero without digits), so a caller can build invoices
the SDI must reject.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.it import codicefiscale

from emulator.sdi.fatturapa import FATTURAPA_NS

DOCUMENT_TYPES = ("TD01", "TD02", "TD04", "TD05", "TD06", "TD24")
_DOCUMENT_TYPE_WEIGHTS = (62, 5, 10, 5, 8, 10)

_DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_BOLLO_THRESHOLD = Decimal("77.47")
_BOLLO = Decimal("2.00")
_WITHHOLDING_RATE = Decimal("20.00")
_NO_CHANNEL = "0000000"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_CODE_RE = re.compile(r"[A-Z0-9]{6,7}")
_PROGRESSIVE_RE = re.compile(r"[A-Za-z0-9]{1,5}")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_ZIP_RE = re.compile(r"[0-9]{5}")
_MONTHS = (
    "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
    "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
)  # fmt: skip


# -- public types -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartySpec:
    """A party of the invoice. Whatever is ``None`` is invented (a consistent Italian party).

    ``first_name``/``last_name`` make the Anagrafica a person's (Nome, Cognome) instead of a
    Denominazione. The generator returns the parties it used, every field filled in.
    """

    vat: str | None = None
    fiscal_code: str | None = None
    name: str | None = None
    country: str = "IT"
    street: str | None = None
    number: str | None = None
    zip: str | None = None
    city: str | None = None
    province: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class GeneratedInvoice:
    xml: bytes
    file_name: str
    number: str
    date: dt.date
    document_type: str
    total: Decimal
    supplier: PartySpec
    customer: PartySpec
    recipient_code: str
    progressive: str


# -- fiscal ids ---------------------------------------------------------------------------------

_MONTH_LETTERS = "ABCDEHLMPRST"
_VOWELS = frozenset("AEIOU")


def personal_fiscal_code(
    last_name: str, first_name: str, birth_date: dt.date, *, female: bool, birthplace: str
) -> str:
    """The 16-character codice fiscale of a person (``birthplace`` is the codice catastale)."""
    stem = (
        _surname_code(last_name)
        + _name_code(first_name)
        + f"{birth_date.year % 100:02d}"
        + _MONTH_LETTERS[birth_date.month - 1]
        + f"{birth_date.day + (40 if female else 0):02d}"
        + birthplace.upper()
    )
    return stem + codicefiscale.calc_check_digit(stem)


def company_vat_number(serial: int, office: str) -> str:
    """A P.IVA: 7-digit serial, 3-digit office (province) code, Luhn check digit."""
    if not 1 <= serial <= 9_999_999:
        raise ValueError("the P.IVA serial has 7 digits and is not 0")
    stem = f"{serial:07d}{office}"
    return stem + luhn.calc_check_digit(stem)


def _letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.upper())
    return "".join(c for c in decomposed if "A" <= c <= "Z")


def _surname_code(last_name: str) -> str:
    letters = _letters(last_name)
    consonants = [c for c in letters if c not in _VOWELS]
    vowels = [c for c in letters if c in _VOWELS]
    return "".join([*consonants, *vowels, "X", "X", "X"][:3])


def _name_code(first_name: str) -> str:
    letters = _letters(first_name)
    consonants = [c for c in letters if c not in _VOWELS]
    if len(consonants) >= 4:
        return consonants[0] + consonants[2] + consonants[3]
    vowels = [c for c in letters if c in _VOWELS]
    return "".join([*consonants, *vowels, "X", "X", "X"][:3])


def _italian_iban(abi: str, cab: str, account: str) -> str:
    bban_tail = abi + cab + account
    cin = codicefiscale.calc_check_digit(bban_tail)  # the CIN uses the codice fiscale tables
    check = stdnum_iban.calc_check_digits(f"IT00{cin}{bban_tail}")
    return f"IT{check}{cin}{bban_tail}"


# -- reference data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Comune:
    name: str
    province: str
    zip: str
    cadastral: str  # codice catastale (Belfiore), for the codice fiscale
    office: str  # the province's code in a P.IVA
    phone_prefix: str


_COMUNI = tuple(
    _Comune(*row)
    for row in (
        ("Torino", "TO", "10121", "L219", "001", "011"),
        ("Genova", "GE", "16121", "D969", "010", "010"),
        ("Como", "CO", "22100", "C933", "013", "031"),
        ("Milano", "MI", "20121", "F205", "015", "02"),
        ("Bergamo", "BG", "24121", "A794", "016", "035"),
        ("Brescia", "BS", "25121", "B157", "017", "030"),
        ("Bolzano", "BZ", "39100", "A952", "021", "0471"),
        ("Trento", "TN", "38122", "L378", "022", "0461"),
        ("Verona", "VR", "37121", "L781", "023", "045"),
        ("Vicenza", "VI", "36100", "L840", "024", "0444"),
        ("Treviso", "TV", "31100", "L407", "026", "0422"),
        ("Venezia", "VE", "30121", "L736", "027", "041"),
        ("Padova", "PD", "35121", "G224", "028", "049"),
        ("Udine", "UD", "33100", "L483", "030", "0432"),
        ("Trieste", "TS", "34121", "L424", "032", "040"),
        ("Parma", "PR", "43121", "G337", "034", "0521"),
        ("Reggio Emilia", "RE", "42121", "H223", "035", "0522"),
        ("Modena", "MO", "41121", "F257", "036", "059"),
        ("Bologna", "BO", "40121", "A944", "037", "051"),
        ("Ancona", "AN", "60121", "A271", "042", "071"),
        ("Firenze", "FI", "50122", "D612", "048", "055"),
        ("Pisa", "PI", "56121", "G702", "050", "050"),
        ("Arezzo", "AR", "52100", "A390", "051", "0575"),
        ("Perugia", "PG", "06121", "G478", "054", "075"),
        ("Roma", "RM", "00184", "H501", "058", "06"),
        ("Napoli", "NA", "80133", "F839", "063", "081"),
        ("Salerno", "SA", "84121", "H703", "065", "089"),
        ("Pescara", "PE", "65121", "G482", "068", "085"),
        ("Bari", "BA", "70121", "A662", "072", "080"),
        ("Lecce", "LE", "73100", "E506", "075", "0832"),
        ("Reggio di Calabria", "RC", "89127", "H224", "080", "0965"),
        ("Palermo", "PA", "90133", "G273", "082", "091"),
        ("Messina", "ME", "98122", "F158", "083", "090"),
        ("Catania", "CT", "95121", "C351", "087", "095"),
        ("Sassari", "SS", "07100", "I452", "090", "079"),
        ("Cagliari", "CA", "09121", "B354", "092", "070"),
    )
)

_BANKS = (
    ("03069", "Intesa Sanpaolo S.p.A."),
    ("02008", "UniCredit S.p.A."),
    ("05034", "Banco BPM S.p.A."),
    ("01030", "Banca Monte dei Paschi di Siena S.p.A."),
    ("05387", "BPER Banca S.p.A."),
    ("03032", "Credito Emiliano S.p.A."),
    ("03268", "Banca Sella S.p.A."),
    ("06230", "Crédit Agricole Italia S.p.A."),
    ("05696", "Banca Popolare di Sondrio S.p.A."),
    ("08327", "Banca di Credito Cooperativo di Roma"),
)

_INTERMEDIARY_CODES = ("KRRH6B9", "M5UXCR1", "SUBM70N", "T04ZHR3", "5RUO82D", "W7YVJK9", "PIC7CPS", "T9K4ZHO")

_ACTIVITIES = (
    "Impianti Elettrici", "Costruzioni", "Trasporti", "Informatica", "Forniture Alimentari",
    "Serramenti", "Arredamenti", "Logistica", "Meccanica di Precisione", "Tipografia",
    "Ceramiche", "Servizi Ambientali", "Elettronica", "Ricambi Auto", "Termoidraulica",
    "Consulting", "Packaging", "Software", "Edilizia", "Distribuzione",
)  # fmt: skip
_STREET_KINDS = ("Via", "Viale", "Corso", "Piazza", "Largo", "Vicolo", "Strada Provinciale")
_STREET_KIND_WEIGHTS = (60, 12, 10, 9, 4, 2, 3)
_STREET_NAMES = (
    "Giuseppe Garibaldi", "Roma", "Dante Alighieri", "Giacomo Matteotti", "XX Settembre",
    "Vittorio Emanuele II", "Camillo Benso di Cavour", "Giuseppe Mazzini", "della Repubblica",
    "IV Novembre", "dell'Industria", "dell'Artigianato", "Galileo Galilei", "Alessandro Volta",
    "Guglielmo Marconi", "Enrico Fermi", "Leonardo da Vinci", "Antonio Gramsci", "Aldo Moro",
    "Europa", "della Libertà", "San Francesco", "dei Mille", "Nazionale", "del Lavoro",
)  # fmt: skip
_SOLE_TRADES = ("Idraulica", "Elettricista", "Falegnameria", "Autofficina", "Tinteggiature", "Pasticceria")
_SHARE_CAPITAL = {  # euro; only companies with share capital print it (CapitaleSociale)
    "S.r.l.": (10_000, 20_000, 50_000, 100_000),
    "S.r.l.s.": (1_000, 2_500, 5_000),
    "S.p.A.": (50_000, 120_000, 500_000, 1_000_000),
}
_LEGAL_FORMS = (
    ("S.r.l.", 40),
    ("S.p.A.", 10),
    ("S.n.c.", 10),
    ("S.a.s.", 10),
    ("S.r.l.s.", 6),
    ("Soc. Coop.", 4),
)


@dataclass(frozen=True)
class _Item:
    description: str
    unit: str | None  # None: a corpo (no Quantita)
    low: int  # unit price range, euro
    high: int
    rate: str
    quantity: tuple[int, int] = (1, 1)
    periodic: bool = False  # a monthly fee: DataInizioPeriodo/DataFinePeriodo of the previous month


_GOODS = (
    _Item("Carta per fotocopie A4 80 g/m², risma da 500 fogli", "risme", 3, 6, "22.00", (5, 120)),
    _Item("Toner compatibile per stampante laser, nero", "pz", 35, 89, "22.00", (1, 10)),
    _Item('Monitor LED 27" Full HD, ingresso HDMI', "pz", 149, 329, "22.00", (1, 8)),
    _Item('Notebook 15,6" Intel Core i5, 16 GB RAM, SSD 512 GB', "pz", 650, 1150, "22.00", (1, 5)),
    _Item("Sedia ergonomica da ufficio con braccioli regolabili", "pz", 89, 249, "22.00", (1, 12)),
    _Item("Cavo elettrico FG16OR16 3G2,5 mm²", "m", 1, 3, "22.00", (50, 500)),
    _Item("Interruttore magnetotermico 2P 16A", "pz", 12, 35, "22.00", (2, 40)),
    _Item("Lastra in cartongesso 120x200 cm, spessore 12,5 mm", "pz", 6, 11, "22.00", (10, 200)),
    _Item("Idropittura murale lavabile bianca, latta da 14 l", "pz", 38, 79, "22.00", (2, 30)),
    _Item("Guanti da lavoro in nitrile, confezione da 100", "conf", 6, 14, "22.00", (5, 60)),
    _Item("Olio motore sintetico 5W-30, tanica da 5 l", "pz", 29, 49, "22.00", (1, 24)),
    _Item("Pneumatico estivo 205/55 R16 91V", "pz", 65, 120, "22.00", (2, 8)),
    _Item("Pallet in legno EPAL 120x80", "pz", 9, 16, "22.00", (10, 100)),
    _Item("Carne bovina sottovuoto, taglio scelto", "kg", 12, 28, "10.00", (5, 60)),
    _Item("Yogurt bianco intero, vasetto da 125 g", "pz", 1, 2, "10.00", (24, 240)),
    _Item("Prodotti di pasticceria fresca assortiti", "kg", 18, 32, "10.00", (2, 15)),
    _Item("Pasta di semola di grano duro, penne rigate 500 g", "conf", 1, 2, "4.00", (24, 480)),
    _Item("Olio extravergine di oliva italiano, latta da 5 l", "pz", 38, 65, "4.00", (1, 20)),
    _Item("Farina di grano tenero tipo 00, sacco da 25 kg", "pz", 14, 24, "4.00", (2, 40)),
    _Item("Latte fresco intero, bottiglia da 1 l", "pz", 1, 2, "4.00", (12, 120)),
)

_SERVICES = (
    _Item(
        "Consulenza informatica per configurazione server e rete aziendale", "ore", 45, 95, "22.00", (2, 40)
    ),
    _Item("Canone mensile di assistenza software gestionale", None, 80, 450, "22.00", periodic=True),
    _Item("Manutenzione ordinaria impianto di climatizzazione", None, 120, 450, "22.00"),
    _Item("Trasporto merci con automezzo fino a 3,5 t", "viaggi", 90, 260, "22.00", (1, 6)),
    _Item("Progettazione grafica di materiale pubblicitario", None, 250, 1200, "22.00"),
    _Item("Licenza annuale software antivirus per postazione", "pz", 25, 60, "22.00", (5, 50)),
    _Item("Noleggio furgone con conducente", "gg", 150, 320, "22.00", (1, 10)),
    _Item("Sviluppo e messa online del sito web aziendale", None, 900, 4500, "22.00"),
    _Item("Servizio di hosting e dominio, canone mensile", None, 15, 60, "22.00", periodic=True),
    _Item("Servizio di catering per evento aziendale", None, 400, 3500, "10.00"),
    _Item("Pernottamento in camera doppia uso singola con colazione", "notti", 70, 160, "10.00", (1, 12)),
)


@dataclass(frozen=True)
class _ExemptItem:
    item: _Item
    nature: str
    reference: str  # RiferimentoNormativo
    business_only: bool = False  # reverse charge and declarations of intent: B2B only


_EXEMPT = (
    _ExemptItem(
        _Item("Rimborso spese anticipate in nome e per conto del cliente", None, 16, 180, "0.00"),
        "N1",
        "Escluso art. 15 DPR 633/72",
    ),
    _ExemptItem(
        _Item("Corso di formazione sulla sicurezza nei luoghi di lavoro", "pers", 90, 220, "0.00", (1, 12)),
        "N4",
        "Esente art. 10 c. 1 n. 20 DPR 633/72",
    ),
    _ExemptItem(
        _Item("Visita di medicina del lavoro", "pz", 45, 90, "0.00", (1, 20)),
        "N4",
        "Esente art. 10 c. 1 n. 18 DPR 633/72",
    ),
    _ExemptItem(
        _Item("Quota associativa annuale", None, 50, 600, "0.00"),
        "N2.2",
        "Operazione non soggetta art. 4 DPR 633/72",
    ),
    _ExemptItem(
        _Item("Servizio di pulizia uffici e locali aziendali", None, 300, 2400, "0.00", periodic=True),
        "N6.7",
        "Inversione contabile art. 17 c. 6 lett. a-ter DPR 633/72",
        business_only=True,
    ),
    _ExemptItem(
        _Item("Opere murarie in subappalto, stato avanzamento lavori", None, 2500, 18000, "0.00"),
        "N6.3",
        "Inversione contabile art. 17 c. 6 lett. a DPR 633/72",
        business_only=True,
    ),
    _ExemptItem(
        _Item("Fornitura di componenti meccanici a esportatore abituale", "pz", 8, 60, "0.00", (20, 300)),
        "N3.5",
        "Non imponibile art. 8 c. 1 lett. c DPR 633/72, dichiarazione d'intento",
        business_only=True,
    ),
)

_FLAT_RATE_REFERENCE = "Operazione in franchigia da IVA ai sensi dell'art. 1 c. 54-89 L. 190/2014"


@dataclass(frozen=True)
class _Profession:
    title: str
    register: str  # AlboProfessionale
    services: tuple[_Item, ...]


_PROFESSIONS = (
    _Profession(
        "Dott.",
        "Ordine dei Dottori Commercialisti e degli Esperti Contabili",
        (
            _Item("Onorario per consulenza fiscale e tributaria", None, 300, 2500, "22.00"),
            _Item("Redazione e deposito del bilancio d'esercizio", None, 800, 3500, "22.00"),
            _Item("Tenuta della contabilità ordinaria, trimestre", None, 450, 1800, "22.00"),
        ),
    ),
    _Profession(
        "Avv.",
        "Ordine degli Avvocati",
        (
            _Item("Assistenza legale stragiudiziale", None, 500, 4000, "22.00"),
            _Item("Redazione di parere legale scritto", None, 350, 1500, "22.00"),
            _Item("Attività di consulenza contrattuale", "ore", 90, 220, "22.00", (2, 20)),
        ),
    ),
    _Profession(
        "Ing.",
        "Ordine degli Ingegneri",
        (
            _Item("Progettazione esecutiva impianto elettrico", None, 1200, 6500, "22.00"),
            _Item("Direzione lavori, stato avanzamento", None, 900, 5000, "22.00"),
            _Item("Collaudo statico delle strutture", None, 700, 3000, "22.00"),
        ),
    ),
    _Profession(
        "Arch.",
        "Ordine degli Architetti P.P.C.",
        (
            _Item("Progettazione architettonica preliminare", None, 1500, 7000, "22.00"),
            _Item("Pratica edilizia SCIA e rilievo dello stato di fatto", None, 600, 2200, "22.00"),
        ),
    ),
    _Profession(
        "Rag.",
        "Ordine dei Consulenti del Lavoro",
        (
            _Item("Elaborazione cedolini paga", "pz", 18, 35, "22.00", (3, 60)),
            _Item("Consulenza del lavoro, canone mensile", None, 150, 600, "22.00", periodic=True),
        ),
    ),
)

_PUBLIC_BODIES = (
    "Comune di {city}",
    "Università degli Studi di {city}",
    "Azienda Sanitaria Locale di {city}",
    "Camera di Commercio di {city}",
    "Istituto Comprensivo Statale {surname} di {city}",
    "Prefettura - Ufficio Territoriale del Governo di {city}",
)


# -- the draft of one invoice -------------------------------------------------------------------


@dataclass(frozen=True)
class _Albo:
    register: str
    province: str
    number: str
    since: dt.date


@dataclass(frozen=True)
class _Rea:
    office: str
    number: str
    capital: Decimal | None
    sole_member: str | None


@dataclass(frozen=True)
class _Party:
    spec: PartySpec
    kind: str  # company | sole | professional | consumer | pa
    regime: str = "RF01"
    title: str | None = None
    albo: _Albo | None = None
    rea: _Rea | None = None
    phone: str | None = None
    email: str | None = None
    profession: _Profession | None = None

    @property
    def withholding_agent(self) -> bool:
        """Can be asked to withhold tax (sostituto d'imposta): anyone but a consumer."""
        return self.kind != "consumer"


@dataclass(frozen=True)
class _Line:
    description: str
    quantity: Decimal | None
    unit: str | None
    unit_price: Decimal
    discount: Decimal | None  # ScontoMaggiorazione SC, as a percentage
    rate: Decimal
    nature: str | None = None
    reference: str | None = None
    withholding: bool = False
    period: tuple[dt.date, dt.date] | None = None

    @property
    def total(self) -> Decimal:
        price = self.unit_price
        if self.discount is not None:
            price = price * (100 - self.discount) / 100
        return _round(price * (self.quantity if self.quantity is not None else 1))


@dataclass(frozen=True)
class _Summary:
    rate: Decimal
    nature: str | None
    taxable: Decimal
    tax: Decimal
    chargeability: str | None
    reference: str | None


@dataclass(frozen=True)
class _Related:
    """A DatiOrdineAcquisto / DatiContratto / DatiFattureCollegate entry."""

    tag: str
    document: str
    date: dt.date | None = None
    cup: str | None = None
    cig: str | None = None


@dataclass(frozen=True)
class _Ddt:
    number: str
    date: dt.date
    lines: tuple[int, ...]


@dataclass(frozen=True)
class _Installment:
    method: str
    days: int | None
    due: dt.date
    amount: Decimal


@dataclass(frozen=True)
class _Payment:
    terms: str
    installments: tuple[_Installment, ...]
    beneficiary: str | None
    bank: str | None
    iban: str | None
    abi: str | None
    cab: str | None


@dataclass(frozen=True)
class _Envelope:
    """DatiTrasmissione, and what names the file."""

    versione: str
    transmitter: tuple[str, str]
    progressive: str
    recipient_code: str
    recipient_pec: str | None

    @property
    def file_name(self) -> str:
        country, code = self.transmitter
        return f"{country}{code}_{self.progressive}.xml"


@dataclass(frozen=True)
class _Document:
    envelope: _Envelope
    supplier: _Party
    customer: _Party
    document_type: str
    issue_date: dt.date
    number: str
    withholding: Decimal | None
    bollo: bool
    total: Decimal
    causale: tuple[str, ...]
    related: tuple[_Related, ...]
    ddts: tuple[_Ddt, ...]
    lines: tuple[_Line, ...]
    summaries: tuple[_Summary, ...]
    payment: _Payment | None


# -- the generator ------------------------------------------------------------------------------


class InvoiceGenerator:
    """Invents invoices; deterministic for a given seed (and Faker version)."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        from faker import Faker  # imported by the first generator: the server may never need one

        self._faker = Faker("it_IT")
        self._faker.seed_instance(self._rng.getrandbits(64))

    def generate(
        self,
        *,
        supplier: PartySpec | None = None,
        customer: PartySpec | None = None,
        pa: bool = False,
        document_type: str | None = None,
        issue_date: dt.date,
        number: str | None = None,
        transmitter: tuple[str, str] | None = None,
        progressive: str | None = None,
        recipient_code: str | None = None,
        recipient_pec: str | None = None,
        line_count: int | None = None,
        causale: str | None = None,
    ) -> GeneratedInvoice:
        """One invoice; ``ValueError`` when an argument cannot appear in a schema-valid invoice."""
        _check_arguments(document_type, number, transmitter, progressive, recipient_code, line_count, causale)
        kind = document_type or self._rng.choices(DOCUMENT_TYPES, _DOCUMENT_TYPE_WEIGHTS)[0]
        seller = self._supplier(supplier, professional=kind == "TD06")
        buyer = self._public_body(customer) if pa else self._customer(customer)
        code, pec = self._channel(pa, buyer, recipient_code, recipient_pec)
        envelope = _Envelope(
            versione="FPA12" if pa else "FPR12",
            transmitter=transmitter or self._transmitter(seller),
            progressive=progressive or "".join(self._rng.choices(_ALNUM, k=5)),
            recipient_code=code,
            recipient_pec=pec,
        )
        number = number or self._number(kind, issue_date, pa)
        lines = self._lines(kind, seller, buyer, issue_date, line_count or self._line_count(kind))
        draft = self._document(envelope, kind, seller, buyer, issue_date, number, lines, causale)
        return GeneratedInvoice(
            xml=_render(draft),
            file_name=envelope.file_name,
            number=number,
            date=issue_date,
            document_type=kind,
            total=draft.total,
            supplier=seller.spec,
            customer=buyer.spec,
            recipient_code=code,
            progressive=envelope.progressive,
        )

    # -- document level ----------------------------------------------------------------------

    def _document(
        self,
        envelope: _Envelope,
        kind: str,
        seller: _Party,
        buyer: _Party,
        issue_date: dt.date,
        number: str,
        lines: list[_Line],
        causale: str | None,
    ) -> _Document:
        pa = envelope.versione == "FPA12"
        summaries = _summarise(lines, self._chargeability(pa, buyer))
        withholding = _withholding(lines)
        total = sum((s.taxable + s.tax for s in summaries), _ZERO)
        split_tax = sum((s.tax for s in summaries if s.chargeability == "S"), _ZERO)
        related = self._related(kind, pa, issue_date)
        payment = None
        if kind != "TD04":
            payment = self._payment(seller, buyer, pa, issue_date, total - (withholding or _ZERO) - split_tax)
        return _Document(
            envelope=envelope,
            supplier=seller,
            customer=buyer,
            document_type=kind,
            issue_date=issue_date,
            number=number,
            withholding=withholding,
            bollo=sum((ln.total for ln in lines if _bollo_due(ln.nature)), _ZERO) > _BOLLO_THRESHOLD,
            total=total,
            causale=_split_causale(causale) if causale else self._causale(kind, issue_date, related),
            related=related,
            ddts=self._ddts(len(lines), issue_date) if kind == "TD24" else (),
            lines=tuple(lines),
            summaries=tuple(summaries),
            payment=payment,
        )

    def _transmitter(self, seller: _Party) -> tuple[str, str]:
        if self._rng.random() < 0.25:  # an accountant or a service provider transmits for the supplier
            return "IT", company_vat_number(self._serial(), self._comune().office)
        return seller.spec.country, seller.spec.vat or ""

    def _channel(self, pa: bool, buyer: _Party, code: str | None, pec: str | None) -> tuple[str, str | None]:
        if code is not None:
            return code, pec
        if pa:
            return "UF" + "".join(self._rng.choices(_ALNUM, k=4)), None
        if pec is not None:
            return _NO_CHANNEL, pec
        if buyer.kind == "consumer" or self._rng.random() < 0.15:
            return _NO_CHANNEL, None
        return self._rng.choice(_INTERMEDIARY_CODES), None

    def _number(self, kind: str, issue_date: dt.date, pa: bool) -> str:
        n, year = self._rng.randint(1, 1999), issue_date.year
        if kind == "TD04":
            return self._rng.choice((f"NC {n}/{year}", f"{n}/NC", f"NC{year % 100:02d}-{n:04d}"))
        patterns = [f"{n}", f"{n}/{year}", f"{year}/{n:05d}", f"FV{year % 100:02d}-{n:04d}", f"{n}/E"]
        if pa:
            patterns.append(f"{n}/PA")
        return self._rng.choice(patterns)

    def _chargeability(self, pa: bool, buyer: _Party) -> str:
        if pa:
            return "S" if self._rng.random() < 0.65 else "I"
        if buyer.kind != "consumer" and self._rng.random() < 0.1:
            return "D"
        return "I"

    def _causale(self, kind: str, issue_date: dt.date, related: tuple[_Related, ...]) -> tuple[str, ...]:
        previous = _previous_month(issue_date)
        month = f"{_MONTHS[previous.month - 1]} {previous.year}"
        linked = next((r for r in related if r.tag == "DatiFattureCollegate"), None)
        if kind in {"TD04", "TD05"} and linked is not None:
            what = "credito a storno parziale" if kind == "TD04" else "debito a integrazione"
            return (f"Nota di {what} della fattura n. {linked.document} del {_it(linked.date)}",)
        if kind == "TD24":
            return (f"Fattura differita relativa ai documenti di trasporto del mese di {month}",)
        if kind == "TD06":
            return (f"Parcella per prestazioni professionali rese nel mese di {month}",)
        order = next((r for r in related if r.tag == "DatiOrdineAcquisto"), None)
        if kind == "TD02" and order is not None:
            return (f"Acconto su ordine n. {order.document}",)
        if self._rng.random() < 0.3:
            return (f"Fornitura e prestazioni del mese di {month}",)
        return ()

    def _related(self, kind: str, pa: bool, issue_date: dt.date) -> tuple[_Related, ...]:
        related: list[_Related] = []
        if pa or kind == "TD02" or self._rng.random() < 0.3:
            related.append(self._order(pa, issue_date))
        if kind in {"TD04", "TD05"}:
            original = issue_date - dt.timedelta(days=self._rng.randint(7, 90))
            related.append(_Related("DatiFattureCollegate", self._number("TD01", original, pa), original))
        return tuple(related)

    def _order(self, pa: bool, issue_date: dt.date) -> _Related:
        when = issue_date - dt.timedelta(days=self._rng.randint(10, 120))
        if not pa:
            sap_order = f"45{self._rng.randint(0, 99_999_999):08d}"
            order = self._rng.choice((sap_order, f"ORD-{when.year}-{self._rng.randint(1, 9999):04d}"))
            return _Related("DatiOrdineAcquisto", order, when)
        tag = self._rng.choice(("DatiOrdineAcquisto", "DatiContratto"))
        cup = self._cup() if self._rng.random() < 0.4 else None
        return _Related(tag, f"{self._rng.randint(1, 9999)}/{when.year}", when, cup=cup, cig=self._cig())

    def _cig(self) -> str:
        """A "smart CIG" (Codice Identificativo Gara) as small public contracts carry."""
        return "Z" + "".join(self._rng.choices("0123456789ABCDEF", k=9))

    def _cup(self) -> str:
        """A CUP (Codice Unico di Progetto): 15 characters, letter-digits-letter-digits."""
        letters = "BCDEFGHIJ"
        return (
            f"{self._rng.choice(letters)}{self._rng.randint(10, 99)}{self._rng.choice(letters)}"
            f"{self._rng.randint(0, 99_999_999_999):011d}"
        )

    def _ddts(self, line_count: int, issue_date: dt.date) -> tuple[_Ddt, ...]:
        count = self._rng.randint(1, min(3, line_count))
        cuts = sorted(self._rng.sample(range(2, line_count + 1), count - 1))
        bounds = [1, *cuts, line_count + 1]
        month = _previous_month(issue_date)  # a deferred invoice covers last month's deliveries
        days = sorted(self._rng.sample(range(1, calendar.monthrange(month.year, month.month)[1] + 1), count))
        ddts = []
        for i in range(count):
            when = month.replace(day=days[i])
            covered = tuple(range(bounds[i], bounds[i + 1])) if count > 1 else ()  # () = every line
            ddts.append(_Ddt(f"{self._rng.randint(1, 4999)}/{when.year % 100:02d}", when, covered))
        return tuple(ddts)

    def _payment(
        self, seller: _Party, buyer: _Party, pa: bool, issue_date: dt.date, due: Decimal
    ) -> _Payment:
        method = "MP05" if pa else self._rng.choices(("MP05", "MP12", "MP08"), (78, 12, 10))[0]
        days = self._rng.choice((0, 30, 30, 60, 90)) if method != "MP08" else 0
        installments = [(days, due)]
        terms = "TP02"
        if method != "MP08" and due >= Decimal("500.00") and self._rng.random() < 0.15:
            first = _round(due / 2)
            installments, terms = [(days or 30, first), ((days or 30) + 30, due - first)], "TP01"
        abi, bank = self._rng.choice(_BANKS)
        cab = f"{self._rng.randint(1000, 99999):05d}"
        account = f"{self._rng.randint(1, 99_999_999):012d}"
        iban = _italian_iban(abi, cab, account) if method == "MP05" else None
        return _Payment(
            terms=terms,
            installments=tuple(
                _Installment(method, d or None, self._due_date(issue_date, d), amount)
                for d, amount in installments
            ),
            beneficiary=seller.spec.name if method == "MP05" and self._rng.random() < 0.3 else None,
            bank=bank if method in {"MP05", "MP12"} else None,
            iban=iban,
            abi=abi if method == "MP12" else None,
            cab=cab if method == "MP12" else None,
        )

    def _due_date(self, issue_date: dt.date, days: int) -> dt.date:
        due = issue_date + dt.timedelta(days=days)
        if days and self._rng.random() < 0.4:  # "30 giorni data fattura fine mese"
            due = due.replace(day=calendar.monthrange(due.year, due.month)[1])
        return due

    # -- lines -------------------------------------------------------------------------------

    def _line_count(self, kind: str) -> int:
        if kind in {"TD02", "TD04", "TD05"}:
            return self._rng.choices((1, 2, 3), (70, 20, 10))[0]
        return self._rng.choices((1, 2, 3, 4, 5, 6), (26, 24, 18, 13, 10, 9))[0]

    def _lines(
        self, kind: str, seller: _Party, buyer: _Party, issue_date: dt.date, count: int
    ) -> list[_Line]:
        lines: list[_Line] = []
        described: set[str] = set()
        for index in range(count):
            line = self._line(kind, seller, buyer, issue_date, first=index == 0)
            for _ in range(6):  # rather not repeat a description (the catalogue is finite)
                if line.description not in described:
                    break
                line = self._line(kind, seller, buyer, issue_date, first=index == 0)
            described.add(line.description)
            lines.append(line)
        if seller.regime == "RF19":  # regime forfettario: no VAT at all, no withholding
            lines = [
                replace(ln, rate=_ZERO, nature="N2.2", reference=_FLAT_RATE_REFERENCE, withholding=False)
                for ln in lines
            ]
        return lines

    def _line(self, kind: str, seller: _Party, buyer: _Party, issue_date: dt.date, *, first: bool) -> _Line:
        if kind == "TD06" or seller.kind == "professional":
            return self._professional_line(seller, buyer, issue_date, first=first)
        if kind == "TD24":
            return self._item_line(self._rng.choice(_GOODS), issue_date)
        if kind == "TD02":
            line = self._item_line(self._rng.choice(_GOODS + _SERVICES), issue_date)
            share = self._rng.choice((20, 30, 40, 50))
            return replace(line, description=f"Acconto del {share}% per {_lower_first(line.description)}")
        exempt = [e for e in _EXEMPT if buyer.kind == "company" or not e.business_only]
        if buyer.kind == "pa":
            exempt = [e for e in exempt if not e.nature.startswith("N6")]
        if self._rng.random() < 0.2:
            line = self._exempt_line(self._rng.choice(exempt), issue_date)
        else:
            line = self._item_line(self._rng.choice(_GOODS + _SERVICES), issue_date)
        prefix = {"TD04": "Storno per reso/abbuono: ", "TD05": "Integrazione corrispettivo: "}.get(kind, "")
        return replace(line, description=prefix + line.description) if prefix else line

    def _professional_line(self, seller: _Party, buyer: _Party, issue_date: dt.date, *, first: bool) -> _Line:
        if not first and self._rng.random() < 0.3:
            return self._exempt_line(_EXEMPT[0], issue_date)  # rimborso spese anticipate, N1
        profession = seller.profession or self._rng.choice(_PROFESSIONS)
        line = self._item_line(self._rng.choice(profession.services), issue_date)
        return replace(line, withholding=buyer.withholding_agent)

    def _exempt_line(self, exempt: _ExemptItem, issue_date: dt.date) -> _Line:
        line = self._item_line(exempt.item, issue_date)
        return replace(line, nature=exempt.nature, reference=exempt.reference)

    def _item_line(self, item: _Item, issue_date: dt.date) -> _Line:
        quantity = None
        if item.unit is not None:
            low, high = item.quantity
            quantity = Decimal(self._rng.randint(low, high))
            if item.unit in {"kg", "m"} and self._rng.random() < 0.5:
                quantity += Decimal(self._rng.choice((25, 50, 75))) / 100
        discount = None
        if item.unit is not None and self._rng.random() < 0.12:
            discount = Decimal(self._rng.choice((3, 5, 10, 15)))
        period = None
        if item.periodic:
            start = _previous_month(issue_date)
            period = (start, start.replace(day=calendar.monthrange(start.year, start.month)[1]))
        return _Line(
            description=item.description,
            quantity=quantity,
            unit=item.unit,
            unit_price=self._price(item.low, item.high),
            discount=discount,
            rate=Decimal(item.rate),
            period=period,
        )

    def _price(self, low: int, high: int) -> Decimal:
        cents = self._rng.randint(low * 100, high * 100)
        if cents >= 1000 and self._rng.random() < 0.6:  # shop prices: 129.00, 129.50, 129.90
            cents = cents // 100 * 100 + self._rng.choice((0, 0, 50, 90))
        return Decimal(cents) / 100

    # -- parties -----------------------------------------------------------------------------

    def _supplier(self, given: PartySpec | None, *, professional: bool) -> _Party:
        if given is None:
            if professional:
                return self._professional()
            roll = self._rng.random()
            if roll < 0.72:
                return self._company()
            return self._sole_trader(flat_rate=roll > 0.93)
        kind = _kind_of(given)  # a person without a P.IVA gets one: a supplier is in business
        party = self._complete(given, kind="sole" if kind == "consumer" else kind, needs_vat=True)
        if professional and party.kind == "sole":
            return replace(party, kind="professional", profession=self._rng.choice(_PROFESSIONS))
        return party

    def _customer(self, given: PartySpec | None) -> _Party:
        if given is not None:
            return self._complete(given, kind=_kind_of(given), needs_vat=False)
        roll = self._rng.random()
        if roll < 0.72:
            return self._company()
        return self._sole_trader(flat_rate=False) if roll < 0.88 else self._consumer()

    def _complete(self, given: PartySpec, *, kind: str, needs_vat: bool) -> _Party:
        """The given party, with whatever it lacks invented around a comune."""
        comune = self._comune()
        spec = given
        if (needs_vat and not spec.vat) or not (spec.vat or spec.fiscal_code):
            spec = replace(spec, vat=company_vat_number(self._serial(), comune.office), country="IT")
        if kind == "consumer" and not spec.name and not (spec.first_name and spec.last_name):
            spec = replace(spec, first_name=self._faker.first_name(), last_name=self._faker.last_name())
        if not spec.name:
            spec = replace(spec, name=f"{spec.first_name} {spec.last_name}" if spec.first_name else None)
        if not spec.name and kind == "sole":
            spec = replace(spec, name=f"{self._faker.first_name()} {self._faker.last_name()}")
        if not spec.name:
            spec = replace(spec, name=self._company_name(self._legal_form()))
        spec = replace(
            spec,
            street=spec.street or self._street(),
            number=spec.number or self._faker.building_number(),
            zip=spec.zip or (comune.zip if spec.country == "IT" else "00000"),
            city=spec.city or comune.name,
            province=spec.province or (comune.province if spec.country == "IT" else None),
        )
        return _Party(spec=spec, kind=kind)

    def _company(self) -> _Party:
        comune = self._comune()
        vat = company_vat_number(self._serial(), comune.office)
        legal = self._legal_form()
        name = self._company_name(legal)
        spec = self._spec(comune, vat=vat, fiscal_code=vat if self._rng.random() < 0.6 else None, name=name)
        capitals = _SHARE_CAPITAL.get(legal)
        rea = _Rea(
            office=comune.province,
            number=str(self._rng.randint(100_000, 2_599_999)),
            capital=Decimal(self._rng.choice(capitals)) if capitals else None,
            sole_member=self._rng.choice(("SU", "SM")) if legal.startswith("S.r.l.") else None,
        )
        return _Party(
            spec=spec,
            kind="company",
            rea=rea if self._rng.random() < 0.7 else None,
            phone=self._phone(comune),
            email=f"amministrazione@{_slug(name)}.it",
        )

    def _sole_trader(self, *, flat_rate: bool) -> _Party:
        comune = self._comune()
        first, last, fiscal_code = self._person(comune)
        trade = self._rng.choice(_SOLE_TRADES)
        name = f"{trade} di {first} {last}" if self._rng.random() < 0.6 else f"{last} {first}"
        vat = company_vat_number(self._serial(), comune.office)
        spec = self._spec(comune, vat=vat, fiscal_code=fiscal_code, name=name)
        return _Party(
            spec=spec, kind="sole", regime="RF19" if flat_rate else "RF01", phone=self._phone(comune)
        )

    def _professional(self) -> _Party:
        comune = self._comune()
        first, last, fiscal_code = self._person(comune)
        profession = self._rng.choice(_PROFESSIONS)
        vat = company_vat_number(self._serial(), comune.office)
        spec = self._spec(
            comune, vat=vat, fiscal_code=fiscal_code, name=f"{first} {last}", first_name=first, last_name=last
        )
        since = dt.date(self._rng.randint(1985, 2018), self._rng.randint(1, 12), self._rng.randint(1, 28))
        albo = _Albo(profession.register, comune.province, str(self._rng.randint(100, 9999)), since)
        return _Party(
            spec=spec,
            kind="professional",
            title=profession.title,
            albo=albo if self._rng.random() < 0.7 else None,
            phone=self._phone(comune),
            email=f"{_slug(first)}.{_slug(last)}@studio{_slug(last)}.it",
            profession=profession,
        )

    def _consumer(self) -> _Party:
        comune = self._comune()
        first, last, fiscal_code = self._person(comune)
        spec = self._spec(
            comune, fiscal_code=fiscal_code, name=f"{first} {last}", first_name=first, last_name=last
        )
        return _Party(spec=spec, kind="consumer")

    def _public_body(self, given: PartySpec | None) -> _Party:
        comune = self._comune()
        fiscal_code = company_vat_number(self._rng.randint(8_000_000, 9_999_999), comune.office)
        name = self._rng.choice(_PUBLIC_BODIES).format(
            city=comune.name, surname=f'"{self._faker.last_name()}"'
        )
        if given is None:
            return _Party(spec=self._spec(comune, fiscal_code=fiscal_code, name=name), kind="pa")
        if not (given.vat or given.fiscal_code):
            given = replace(given, fiscal_code=fiscal_code)
        return self._complete(replace(given, name=given.name or name), kind="pa", needs_vat=False)

    def _spec(
        self,
        comune: _Comune,
        *,
        name: str,
        vat: str | None = None,
        fiscal_code: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> PartySpec:
        return PartySpec(
            vat=vat,
            fiscal_code=fiscal_code,
            name=name,
            street=self._street(),
            number=self._faker.building_number() if self._rng.random() < 0.8 else None,
            zip=comune.zip,
            city=comune.name,
            province=comune.province,
            first_name=first_name,
            last_name=last_name,
        )

    def _person(self, comune: _Comune) -> tuple[str, str, str]:
        """First name, last name, codice fiscale (born in ``comune`` or nearby, aged 25-75)."""
        female = self._rng.random() < 0.45
        first = self._faker.first_name_female() if female else self._faker.first_name_male()
        last = self._faker.last_name()
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=self._rng.randint(0, 50 * 365))
        birthplace = comune if self._rng.random() < 0.6 else self._comune()
        return (
            first,
            last,
            personal_fiscal_code(last, first, birth, female=female, birthplace=birthplace.cadastral),
        )

    def _legal_form(self) -> str:
        return self._rng.choices([f for f, _ in _LEGAL_FORMS], [w for _, w in _LEGAL_FORMS])[0]

    def _company_name(self, legal: str) -> str:
        roll = self._rng.random()
        if roll < 0.45:
            return f"{self._faker.last_name()} {self._rng.choice(_ACTIVITIES)} {legal}"
        if roll < 0.65:
            return f"{self._faker.last_name()} & {self._faker.last_name()} {legal}"
        if roll < 0.8:
            return f"{self._rng.choice(_ACTIVITIES)} {self._comune().name} {legal}"
        base = re.sub(r"\s+(SPA|s\.r\.l\.|Group|e figli)$", "", self._faker.company())
        return f"{base} {legal}"

    def _street(self) -> str:
        kind = self._rng.choices(_STREET_KINDS, _STREET_KIND_WEIGHTS)[0]
        if self._rng.random() < 0.55:
            return f"{kind} {self._rng.choice(_STREET_NAMES)}"
        return f"{kind} {self._faker.first_name()} {self._faker.last_name()}"

    def _comune(self) -> _Comune:
        return self._rng.choice(_COMUNI)

    def _serial(self) -> int:
        return self._rng.randint(100_000, 3_999_999)

    def _phone(self, comune: _Comune) -> str:
        digits = 10 - len(comune.phone_prefix)
        return comune.phone_prefix + "".join(self._rng.choices("0123456789", k=digits))


# -- arithmetic ---------------------------------------------------------------------------------


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _summarise(lines: Sequence[_Line], chargeability: str) -> list[_Summary]:
    """One DatiRiepilogo per (rate, nature), in the order the lines first use them."""
    groups: dict[tuple[Decimal, str | None], list[_Line]] = {}
    for line in lines:
        groups.setdefault((line.rate, line.nature), []).append(line)
    summaries = []
    for (rate, nature), members in groups.items():
        taxable = sum((ln.total for ln in members), _ZERO)
        summaries.append(
            _Summary(
                rate=rate,
                nature=nature,
                taxable=taxable,
                tax=_round(taxable * rate / 100),
                chargeability=chargeability if nature is None else None,
                reference=members[0].reference,
            )
        )
    return summaries


def _withholding(lines: Sequence[_Line]) -> Decimal | None:
    base = sum((ln.total for ln in lines if ln.withholding), _ZERO)
    return _round(base * _WITHHOLDING_RATE / 100) if base else None


def _bollo_due(nature: str | None) -> bool:
    """Imposta di bollo (2 euro) is due on exempt, non-taxable and out-of-scope amounts."""
    return nature is not None and nature.startswith(("N2", "N3", "N4"))


# -- text ---------------------------------------------------------------------------------------


def _check_arguments(
    document_type: str | None,
    number: str | None,
    transmitter: tuple[str, str] | None,
    progressive: str | None,
    recipient_code: str | None,
    line_count: int | None,
    causale: str | None,
) -> None:
    if document_type is not None and document_type not in DOCUMENT_TYPES:
        raise ValueError(f"document_type must be one of {', '.join(DOCUMENT_TYPES)}")
    if number is not None and not (1 <= len(number) <= 20 and number.isascii() and number.strip()):
        raise ValueError("number must be 1-20 ASCII characters")
    if transmitter is not None and not (
        _COUNTRY_RE.fullmatch(transmitter[0]) and 1 <= len(transmitter[1]) <= 28 and transmitter[1].isalnum()
    ):
        raise ValueError("transmitter must be (country, id): two uppercase letters and 1-28 letters/digits")
    if progressive is not None and not _PROGRESSIVE_RE.fullmatch(progressive):
        raise ValueError("progressive must be 1-5 letters or digits")
    if recipient_code is not None and not _CODE_RE.fullmatch(recipient_code):
        raise ValueError("recipient_code must be 6 or 7 uppercase letters/digits")
    if line_count is not None and not 1 <= line_count <= 9999:
        raise ValueError("line_count must be between 1 and 9999")
    if causale is not None and not _is_latin1(causale):
        raise ValueError("causale must use Latin-1 characters only")


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _split_causale(causale: str) -> tuple[str, ...]:
    text = " ".join(causale.split())
    return tuple(text[i : i + 200] for i in range(0, len(text), 200)) if text else ()


def _latin(text: str, limit: int) -> str:
    """Text for a *LatinType element: Latin-1 only (other letters lose their accents), clipped."""
    clean = "".join(
        c if _is_latin1(c) else unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode()
        for c in unicodedata.normalize("NFC", " ".join(text.split()))
    )
    return clean[:limit].strip() or "-"


def _ascii(text: str, limit: int) -> str:
    clean = unicodedata.normalize("NFKD", " ".join(text.split())).encode("ascii", "ignore").decode()
    return clean[:limit].strip() or "-"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", _ascii(text, 200).lower())[:30] or "azienda"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _it(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _kind_of(spec: PartySpec) -> str:
    personal = bool(spec.fiscal_code and len(spec.fiscal_code) == 16)
    if personal and not spec.vat:
        return "consumer"
    return "sole" if personal or (spec.first_name and spec.last_name) else "company"


def _money(value: Decimal) -> str:
    return f"{_round(value):.2f}"


# -- XML ----------------------------------------------------------------------------------------


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _render(doc: _Document) -> bytes:
    root = etree.Element(
        f"{{{FATTURAPA_NS}}}FatturaElettronica", nsmap={"p": FATTURAPA_NS, "ds": _DS_NS, "xsi": _XSI_NS}
    )
    root.set("versione", doc.envelope.versione)
    header = _sub(root, "FatturaElettronicaHeader")
    _render_transmission(header, doc.envelope)
    _render_supplier(header, doc.supplier)
    _render_customer(header, doc.customer)
    body = _sub(root, "FatturaElettronicaBody")
    _render_general(body, doc)
    goods = _sub(body, "DatiBeniServizi")
    for index, line in enumerate(doc.lines, start=1):
        _render_line(goods, index, line)
    for summary in doc.summaries:
        _render_summary(goods, summary)
    if doc.payment is not None:
        _render_payment(body, doc.payment)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _render_transmission(header: etree._Element, envelope: _Envelope) -> None:
    data = _sub(header, "DatiTrasmissione")
    _render_id(data, "IdTrasmittente", *envelope.transmitter)
    _sub(data, "ProgressivoInvio", envelope.progressive)
    _sub(data, "FormatoTrasmissione", envelope.versione)
    _sub(data, "CodiceDestinatario", envelope.recipient_code)
    if envelope.recipient_pec:
        _sub(data, "PECDestinatario", envelope.recipient_pec)


def _render_id(parent: etree._Element, tag: str, country: str, code: str) -> None:
    element = _sub(parent, tag)
    _sub(element, "IdPaese", country)
    _sub(element, "IdCodice", code)


def _render_supplier(header: etree._Element, party: _Party) -> None:
    supplier = _sub(header, "CedentePrestatore")
    data = _sub(supplier, "DatiAnagrafici")
    _render_id(data, "IdFiscaleIVA", party.spec.country, party.spec.vat or "")
    if party.spec.fiscal_code:
        _sub(data, "CodiceFiscale", party.spec.fiscal_code)
    _render_registry(data, party)
    if party.albo is not None:
        _sub(data, "AlboProfessionale", _latin(party.albo.register, 60))
        _sub(data, "ProvinciaAlbo", party.albo.province)
        _sub(data, "NumeroIscrizioneAlbo", party.albo.number)
        _sub(data, "DataIscrizioneAlbo", party.albo.since.isoformat())
    _sub(data, "RegimeFiscale", party.regime)
    _render_address(supplier, party.spec)
    if party.rea is not None:
        _render_rea(supplier, party.rea)
    if party.phone or party.email:
        contacts = _sub(supplier, "Contatti")
        if party.phone:
            _sub(contacts, "Telefono", party.phone)
        if party.email:
            _sub(contacts, "Email", party.email)


def _render_customer(header: etree._Element, party: _Party) -> None:
    customer = _sub(header, "CessionarioCommittente")
    data = _sub(customer, "DatiAnagrafici")
    if party.spec.vat:
        _render_id(data, "IdFiscaleIVA", party.spec.country, party.spec.vat)
    if party.spec.fiscal_code:
        _sub(data, "CodiceFiscale", party.spec.fiscal_code)
    _render_registry(data, party)
    _render_address(customer, party.spec)


def _render_registry(data: etree._Element, party: _Party) -> None:
    registry = _sub(data, "Anagrafica")
    spec = party.spec
    if spec.first_name and spec.last_name:
        _sub(registry, "Nome", _latin(spec.first_name, 60))
        _sub(registry, "Cognome", _latin(spec.last_name, 60))
    else:
        _sub(registry, "Denominazione", _latin(spec.name or "-", 80))
    if party.title:
        _sub(registry, "Titolo", party.title)


def _render_address(party: etree._Element, spec: PartySpec) -> None:
    seat = _sub(party, "Sede")
    _sub(seat, "Indirizzo", _latin(spec.street or "-", 60))
    if spec.number:
        _sub(seat, "NumeroCivico", _ascii(spec.number, 8))
    _sub(seat, "CAP", spec.zip if spec.zip and _ZIP_RE.fullmatch(spec.zip) else "00000")
    _sub(seat, "Comune", _latin(spec.city or "-", 60))
    if spec.province and _COUNTRY_RE.fullmatch(spec.province):
        _sub(seat, "Provincia", spec.province)
    _sub(seat, "Nazione", spec.country)


def _render_rea(supplier: etree._Element, rea: _Rea) -> None:
    element = _sub(supplier, "IscrizioneREA")
    _sub(element, "Ufficio", rea.office)
    _sub(element, "NumeroREA", rea.number)
    if rea.capital is not None:
        _sub(element, "CapitaleSociale", _money(rea.capital))
    if rea.sole_member is not None:
        _sub(element, "SocioUnico", rea.sole_member)
    _sub(element, "StatoLiquidazione", "LN")


def _render_general(body: etree._Element, doc: _Document) -> None:
    general = _sub(body, "DatiGenerali")
    document = _sub(general, "DatiGeneraliDocumento")
    _sub(document, "TipoDocumento", doc.document_type)
    _sub(document, "Divisa", "EUR")
    _sub(document, "Data", doc.issue_date.isoformat())
    _sub(document, "Numero", doc.number)
    if doc.withholding is not None:
        withholding = _sub(document, "DatiRitenuta")
        _sub(withholding, "TipoRitenuta", "RT01")
        _sub(withholding, "ImportoRitenuta", _money(doc.withholding))
        _sub(withholding, "AliquotaRitenuta", _money(_WITHHOLDING_RATE))
        _sub(withholding, "CausalePagamento", "A")
    if doc.bollo:
        bollo = _sub(document, "DatiBollo")
        _sub(bollo, "BolloVirtuale", "SI")
        _sub(bollo, "ImportoBollo", _money(_BOLLO))
    _sub(document, "ImportoTotaleDocumento", _money(doc.total))
    for text in doc.causale:
        _sub(document, "Causale", _latin(text, 200))
    for tag in ("DatiOrdineAcquisto", "DatiContratto", "DatiFattureCollegate"):
        for related in (r for r in doc.related if r.tag == tag):
            _render_related(general, related)
    for ddt in doc.ddts:
        element = _sub(general, "DatiDDT")
        _sub(element, "NumeroDDT", ddt.number)
        _sub(element, "DataDDT", ddt.date.isoformat())
        for number in ddt.lines:
            _sub(element, "RiferimentoNumeroLinea", str(number))


def _render_related(general: etree._Element, related: _Related) -> None:
    element = _sub(general, related.tag)
    _sub(element, "IdDocumento", _ascii(related.document, 20))
    if related.date is not None:
        _sub(element, "Data", related.date.isoformat())
    if related.cup:
        _sub(element, "CodiceCUP", related.cup)
    if related.cig:
        _sub(element, "CodiceCIG", related.cig)


def _render_line(goods: etree._Element, index: int, line: _Line) -> None:
    element = _sub(goods, "DettaglioLinee")
    _sub(element, "NumeroLinea", str(index))
    _sub(element, "Descrizione", _latin(line.description, 1000))
    if line.quantity is not None:
        _sub(element, "Quantita", f"{line.quantity:.2f}")
        if line.unit:
            _sub(element, "UnitaMisura", _ascii(line.unit, 10))
    if line.period is not None:
        _sub(element, "DataInizioPeriodo", line.period[0].isoformat())
        _sub(element, "DataFinePeriodo", line.period[1].isoformat())
    _sub(element, "PrezzoUnitario", _money(line.unit_price))
    if line.discount is not None:
        discount = _sub(element, "ScontoMaggiorazione")
        _sub(discount, "Tipo", "SC")
        _sub(discount, "Percentuale", _money(line.discount))
    _sub(element, "PrezzoTotale", _money(line.total))
    _sub(element, "AliquotaIVA", _money(line.rate))
    if line.withholding:
        _sub(element, "Ritenuta", "SI")
    if line.nature:
        _sub(element, "Natura", line.nature)


def _render_summary(goods: etree._Element, summary: _Summary) -> None:
    element = _sub(goods, "DatiRiepilogo")
    _sub(element, "AliquotaIVA", _money(summary.rate))
    if summary.nature:
        _sub(element, "Natura", summary.nature)
    _sub(element, "ImponibileImporto", _money(summary.taxable))
    _sub(element, "Imposta", _money(summary.tax))
    if summary.chargeability:
        _sub(element, "EsigibilitaIVA", summary.chargeability)
    if summary.reference:
        _sub(element, "RiferimentoNormativo", _latin(summary.reference, 100))


def _render_payment(body: etree._Element, payment: _Payment) -> None:
    element = _sub(body, "DatiPagamento")
    _sub(element, "CondizioniPagamento", payment.terms)
    for installment in payment.installments:
        detail = _sub(element, "DettaglioPagamento")
        if payment.beneficiary:
            _sub(detail, "Beneficiario", _latin(payment.beneficiary, 200))
        _sub(detail, "ModalitaPagamento", installment.method)
        if installment.days is not None:
            _sub(detail, "GiorniTerminiPagamento", str(installment.days))
        _sub(detail, "DataScadenzaPagamento", installment.due.isoformat())
        _sub(detail, "ImportoPagamento", _money(installment.amount))
        if payment.bank:
            _sub(detail, "IstitutoFinanziario", _latin(payment.bank, 80))
        if payment.iban:
            _sub(detail, "IBAN", payment.iban)
        if payment.abi and payment.cab:
            _sub(detail, "ABI", payment.abi)
            _sub(detail, "CAB", payment.cab)
