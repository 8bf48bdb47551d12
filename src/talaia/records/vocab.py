"""Controlled vocabularies of the ICCS disaggregating variables (UNODC ICCS v1.0, 2015, Annex).

Talaia stores readable tokens (``"firearm"``) rather than the ICCS numeric value codes; each
vocabulary keeps the ICCS tag and value code so that exports (UN-CTS, SDMX) can translate back.
A value that is *not known* is stored as NULL (never as a made-up category): "no data" stays
"no data". ``not_applicable`` is a real value where ICCS has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """One disaggregating variable.

    Attributes
    ----------
    name
        Canonical column name in Talaia's records.
    iccs_tag
        The ICCS Annex tag (``"We"``, ``"SiC"``, ...).
    values
        Token -> (ICCS value code, English label, Spanish label).
    """

    name: str
    iccs_tag: str
    values: Mapping[str, tuple[str, str, str]]

    def tokens(self) -> tuple[str, ...]:
        return tuple(self.values)

    def iccs_code(self, token: str) -> str:
        return self.values[token][0]

    def label(self, token: str, lang: str = "en") -> str:
        _code, en, es = self.values[token]
        return es if lang == "es" else en


def _v(name: str, tag: str, values: dict[str, tuple[str, str, str]]) -> Vocabulary:
    return Vocabulary(name, tag, MappingProxyType(values))


SEX = _v(
    "sex",
    "SV",
    {
        "male": ("1", "Male", "Hombre"),
        "female": ("2", "Female", "Mujer"),
    },
)
ATTEMPTED = _v(
    "attempted",
    "At",
    {
        "attempted": ("1", "Attempted", "Tentativa"),
        "completed": ("2", "Completed", "Consumado"),
        "not_applicable": ("3", "Not applicable", "No aplica"),
    },
)
SITUATIONAL_CONTEXT = _v(
    "situational_context",
    "SiC",
    {
        "organized_crime": (
            "1",
            "Organized-crime related",
            "Relacionado con la delincuencia organizada",
        ),
        "gang": ("2", "Gang-related", "Relacionado con pandillas"),
        "corporate": ("4", "Corporate crime-related", "Relacionado con delitos empresariales"),
        "intimate_partner_family": (
            "5",
            "Intimate partner/family-related",
            "Relacionado con la pareja o la familia",
        ),
        "terrorism": ("6", "Terrorism-related", "Relacionado con el terrorismo"),
        "civil_unrest": ("7", "Civil unrest", "Disturbios civiles"),
        "other_crime": ("8", "Other crime", "Otro delito"),
        "not_applicable": ("9", "Not applicable", "No aplica"),
    },
)
WEAPON = _v(
    "weapon",
    "We",
    {
        "firearm": ("1", "Firearm", "Arma de fuego"),
        "sharp_object": ("2", "Knife or sharp object", "Arma blanca u objeto cortante"),
        "other": ("3", "Other means", "Otros medios"),
        "unknown_means": ("4", "Unknown means", "Medio desconocido"),
        "not_applicable": ("5", "Not applicable", "No aplica"),
    },
)
LOCATION_TYPE = _v(
    "location_type",
    "Lo",
    {
        "residence": ("1", "Private residential premises", "Vivienda particular"),
        "street": (
            "2",
            "Open area, street or public transport",
            "Vía pública, espacio abierto o transporte público",
        ),
        "school": ("3", "Schools or other educational institutions", "Centro educativo"),
        "prison": (
            "4",
            "Prisons, penal institutions or correctional institutions",
            "Centro penitenciario o correccional",
        ),
        "institutional_care": (
            "5",
            "Institutional care settings",
            "Centro de cuidado institucional",
        ),
        "commercial": (
            "6",
            "Other commercial or public non-residential premises",
            "Local comercial o edificio público no residencial",
        ),
        "other": ("7", "Other", "Otro"),
    },
)
MOTIVE = _v(
    "motive",
    "Mot",
    {
        "illicit_gain": ("1", "Illicit gain", "Lucro ilícito"),
        "hate": ("2", "Hate crime", "Delito de odio"),
        "gender_based": ("3", "Gender-based", "Por razones de género"),
        "interpersonal_conflict": ("4", "Interpersonal conflict", "Conflicto interpersonal"),
        "political": ("5", "Political agenda", "Motivación política"),
        "other": ("6", "Other motive", "Otro motivo"),
        "not_applicable": ("7", "Not applicable", "No aplica"),
    },
)
RELATIONSHIP = _v(
    "relationship",
    "ViP",
    {
        "current_partner": ("1", "Current intimate partner/spouse", "Pareja o cónyuge actual"),
        "former_partner": ("2", "Former intimate partner/spouse", "Expareja o excónyuge"),
        "blood_relative": ("3", "Blood relative", "Familiar consanguíneo"),
        "household_member": ("4", "Other household member", "Otro miembro del hogar"),
        "friend": ("5", "Friend", "Amigo"),
        "acquaintance": ("6", "Acquaintance", "Conocido"),
        "colleague": ("7", "Colleague/work relationship", "Colega o relación laboral"),
        "authority_care": ("8", "Authority/care relationship", "Relación de autoridad o cuidado"),
        "other_known": (
            "9",
            "Other offender known to victim",
            "Otro agresor conocido por la víctima",
        ),
        "stranger": ("10", "Offender unknown to victim", "Agresor desconocido por la víctima"),
    },
)
CITIZENSHIP = _v(
    "citizenship",
    "Cit",
    {
        "national": ("1", "National citizen", "Nacional"),
        "foreign": ("2", "Foreign citizen", "Extranjero"),
    },
)
OUTCOME = _v(
    "outcome",
    "",
    {
        "killed": ("", "Killed", "Fallecido"),
        "serious_injury": ("", "Serious injury", "Lesión grave"),
        "minor_injury": ("", "Minor injury", "Lesión leve"),
        "unharmed": ("", "Not physically injured", "Sin lesiones físicas"),
    },
)
CUSTODY_STATUS = _v(
    "custody_status",
    "",
    {
        "pretrial": ("", "Unsentenced (pre-trial) detention", "Prisión preventiva"),
        "sentenced": ("", "Sentenced", "Condenado"),
    },
)

VOCABULARIES: Mapping[str, Vocabulary] = MappingProxyType(
    {
        v.name: v
        for v in (
            SEX,
            ATTEMPTED,
            SITUATIONAL_CONTEXT,
            WEAPON,
            LOCATION_TYPE,
            MOTIVE,
            RELATIONSHIP,
            CITIZENSHIP,
            OUTCOME,
            CUSTODY_STATUS,
        )
    }
)

#: Five-year age groups used for population and victim disaggregation (``"80+"`` closes).
AGE_GROUPS: tuple[str, ...] = (*tuple(f"{a:02d}-{a + 4:02d}" for a in range(0, 80, 5)), "80+")


def age_group(age: int) -> str:
    """Five-year age group label of an age in completed years (``37 -> "35-39"``)."""
    if age < 0:
        raise ValueError(f"negative age: {age}")
    return "80+" if age >= 80 else AGE_GROUPS[age // 5]
