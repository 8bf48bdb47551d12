"""What happens in the demo country: crime types with their rates and patterns, the agencies'
own national code lists (in Spanish), their crosswalks to ICCS, and the Spanish labels each
agency writes in its raw files.

Rates are police-recorded incidents per 100,000 inhabitants per year, in the range of
Central American recorded-crime statistics (UNODC data portal, ~2015-2022). The true ICCS code of
an event is fixed by its type (and, for assaults, by the victim's injury).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

# Hour-of-day profiles (24 relative weights) by shape.
_H = {
    "night": [9, 8, 7, 5, 3, 2, 2, 3, 4, 4, 4, 5, 5, 5, 5, 6, 6, 7, 8, 9, 10, 11, 11, 10],
    "day": [2, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 10, 10, 10, 10, 9, 8, 6, 5, 4, 3, 2],
    "home": [4, 3, 2, 2, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 7, 8, 9, 9, 8, 7, 5],
    "burglary": [2, 2, 2, 2, 2, 2, 3, 5, 7, 9, 10, 10, 10, 10, 10, 9, 8, 6, 5, 4, 3, 3, 2, 2],
    "office": [1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1],
}
# Day-of-week profiles (Mon..Sun).
_D = {
    "weekend": [0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.4],
    "weekday": [1.1, 1.05, 1.05, 1.05, 1.1, 0.85, 0.7],
    "flat": [1, 1, 1, 1, 1, 1, 1],
}

LOCATIONS = ("residence", "street", "school", "prison", "institutional_care", "commercial", "other")
WEAPONS = ("firearm", "sharp_object", "other", "unknown_means", "not_applicable")
RELATIONSHIPS = (
    "current_partner",
    "former_partner",
    "blood_relative",
    "household_member",
    "friend",
    "acquaintance",
    "colleague",
    "authority_care",
    "other_known",
    "stranger",
)
OUTCOMES = ("killed", "serious_injury", "minor_injury", "unharmed")


@dataclass(frozen=True)
class CrimeType:
    """One kind of event the generator produces."""

    key: str
    iccs: str  # true ICCS code (for "lesiones", the code when the injury is serious)
    rate: float  # police-recorded incidents per 100,000 per year (0: derived from another type)
    hours: str
    dow: str
    season: float  # amplitude of the July/December peaks
    trend: float  # relative change per year
    urban: float  # elasticity to the municipality's urbanity
    location: tuple[float, ...]  # probabilities over LOCATIONS
    weapon: tuple[float, ...]  # over WEAPONS (all zero: NULL)
    attempted_p: float  # share attempted (-1: not applicable)
    victim_p: float  # probability the incident has a victim
    male_p: float  # share of male victims
    age: tuple[float, float, int]  # victim age mean, sd, minimum
    relationship: tuple[float, ...]  # over RELATIONSHIPS (all zero: NULL)
    outcome: tuple[float, ...]  # over OUTCOMES (all zero: NULL)
    known_p: float  # probability a perpetrator is identified
    context: str | None = None
    motive: str | None = None
    cyber_p: float = 0.0


def _t(*a, **k) -> CrimeType:
    return CrimeType(*a, **k)


_Z7, _Z5, _Z10, _Z4 = (0,) * 7, (0,) * 5, (0,) * 10, (0,) * 4
_STRANGER = (0, 0, 0, 0, 0, 0.12, 0, 0, 0.03, 0.85)
CRIME_TYPES: tuple[CrimeType, ...] = (
    _t(
        "homicide",
        "0101",
        17.0,
        "night",
        "weekend",
        0.12,
        -0.04,
        0.2,
        (0.18, 0.62, 0.01, 0.01, 0, 0.12, 0.06),
        (0.6, 0.25, 0.1, 0.05, 0),
        -1,
        1.0,
        0.88,
        (29, 10, 14),
        (0.02, 0.01, 0.05, 0.02, 0.1, 0.3, 0.02, 0, 0.1, 0.38),
        (1, 0, 0, 0),
        0.45,
        None,
        None,
    ),
    _t(
        "femicide",
        "0101",
        0.0,
        "home",
        "weekend",
        0.12,
        -0.04,
        0.0,
        (0.75, 0.15, 0, 0, 0, 0.03, 0.07),
        (0.3, 0.45, 0.2, 0.05, 0),
        -1,
        1.0,
        0.0,
        (32, 10, 15),
        (0.62, 0.38, 0, 0, 0, 0, 0, 0, 0, 0),
        (1, 0, 0, 0),
        0.9,
        "intimate_partner_family",
        "gender_based",
    ),
    _t(
        "traffic_death",
        "010321",
        11.0,
        "night",
        "weekend",
        0.15,
        0.0,
        0.0,
        (0, 1, 0, 0, 0, 0, 0),
        _Z5,
        -1,
        1.0,
        0.75,
        (35, 17, 1),
        _Z10,
        (1, 0, 0, 0),
        0.6,
    ),
    _t(
        "attempted_homicide",
        "0102",
        12.0,
        "night",
        "weekend",
        0.12,
        -0.02,
        0.2,
        (0.15, 0.65, 0.01, 0, 0, 0.12, 0.07),
        (0.55, 0.3, 0.1, 0.05, 0),
        1.0,
        1.0,
        0.85,
        (28, 10, 14),
        (0.03, 0.02, 0.05, 0.02, 0.1, 0.3, 0.02, 0, 0.1, 0.36),
        (0, 0.6, 0.4, 0),
        0.4,
    ),
    _t(
        "lesiones",
        "020111",
        110.0,
        "night",
        "weekend",
        0.12,
        0.0,
        0.3,
        (0.2, 0.55, 0.04, 0.01, 0, 0.14, 0.06),
        (0.05, 0.3, 0.45, 0.2, 0),
        -1,
        1.0,
        0.68,
        (31, 13, 10),
        (0.02, 0.02, 0.06, 0.03, 0.12, 0.35, 0.05, 0, 0.1, 0.25),
        (0, 0.3, 0.7, 0),
        0.6,
    ),
    _t(
        "threat",
        "02012",
        70.0,
        "day",
        "flat",
        0.05,
        0.02,
        0.2,
        (0.45, 0.3, 0.03, 0, 0, 0.15, 0.07),
        _Z5,
        -1,
        1.0,
        0.45,
        (38, 14, 14),
        (0.1, 0.1, 0.05, 0.05, 0.05, 0.35, 0.1, 0, 0.1, 0.1),
        (0, 0, 0, 1),
        0.7,
    ),
    _t(
        "ipv",
        "02011",
        140.0,
        "home",
        "weekend",
        0.18,
        0.03,
        0.0,
        (0.9, 0.06, 0, 0, 0, 0.02, 0.02),
        (0.01, 0.08, 0.5, 0.41, 0),
        -1,
        1.0,
        0.15,
        (33, 10, 14),
        (0.55, 0.25, 0.15, 0.05, 0, 0, 0, 0, 0, 0),
        (0, 0.1, 0.7, 0.2),
        0.95,
        "intimate_partner_family",
        "interpersonal_conflict",
    ),
    _t(
        "kidnapping",
        "020221",
        2.0,
        "day",
        "weekday",
        0.0,
        -0.05,
        0.5,
        (0.2, 0.6, 0, 0, 0, 0.15, 0.05),
        (0.6, 0.1, 0.1, 0.2, 0),
        -1,
        1.0,
        0.7,
        (35, 12, 5),
        _STRANGER,
        (0, 0.1, 0.3, 0.6),
        0.4,
        "organized_crime",
        "illicit_gain",
    ),
    _t(
        "extortion",
        "02051",
        22.0,
        "office",
        "weekday",
        0.03,
        0.05,
        0.6,
        (0.3, 0.1, 0, 0, 0, 0.55, 0.05),
        (0.3, 0, 0.05, 0.15, 0.5),
        -1,
        1.0,
        0.6,
        (42, 12, 18),
        _STRANGER,
        (0, 0, 0, 1),
        0.3,
        "gang",
        "illicit_gain",
    ),
    _t(
        "rape",
        "03011",
        20.0,
        "home",
        "weekend",
        0.1,
        0.02,
        0.1,
        (0.7, 0.15, 0.03, 0, 0.02, 0.03, 0.07),
        _Z5,
        -1,
        1.0,
        0.1,
        (19, 9, 3),
        (0.12, 0.05, 0.15, 0.1, 0.05, 0.25, 0, 0.08, 0.05, 0.15),
        _Z4,
        0.7,
    ),
    _t(
        "sexual_assault",
        "03012",
        28.0,
        "day",
        "flat",
        0.08,
        0.03,
        0.2,
        (0.45, 0.3, 0.1, 0, 0.02, 0.08, 0.05),
        _Z5,
        -1,
        1.0,
        0.12,
        (20, 10, 3),
        (0.05, 0.03, 0.12, 0.08, 0.05, 0.3, 0.07, 0.1, 0.05, 0.15),
        _Z4,
        0.65,
    ),
    _t(
        "robbery_person",
        "04011",
        190.0,
        "night",
        "weekday",
        0.1,
        -0.01,
        1.0,
        (0.03, 0.85, 0.01, 0, 0, 0.1, 0.01),
        (0.45, 0.3, 0.15, 0.1, 0),
        0.08,
        1.0,
        0.62,
        (32, 12, 12),
        _STRANGER,
        (0, 0.05, 0.15, 0.8),
        0.18,
        None,
        "illicit_gain",
    ),
    _t(
        "robbery_vehicle",
        "040121",
        28.0,
        "night",
        "weekday",
        0.08,
        0.0,
        0.8,
        (0.05, 0.9, 0, 0, 0, 0.05, 0),
        (0.8, 0.05, 0.1, 0.05, 0),
        0.05,
        1.0,
        0.8,
        (38, 11, 18),
        _STRANGER,
        (0, 0.03, 0.1, 0.87),
        0.15,
        "organized_crime",
        "illicit_gain",
    ),
    _t(
        "burglary_residence",
        "05012",
        60.0,
        "burglary",
        "weekday",
        0.08,
        -0.02,
        0.5,
        (1, 0, 0, 0, 0, 0, 0),
        _Z5,
        0.1,
        1.0,
        0.5,
        (45, 14, 18),
        _Z10,
        (0, 0, 0, 1),
        0.08,
        None,
        "illicit_gain",
    ),
    _t(
        "burglary_business",
        "05011",
        35.0,
        "night",
        "weekday",
        0.05,
        -0.02,
        0.8,
        (0, 0, 0, 0, 0, 1, 0),
        _Z5,
        0.1,
        1.0,
        0.6,
        (45, 12, 18),
        _Z10,
        (0, 0, 0, 1),
        0.1,
        None,
        "illicit_gain",
    ),
    _t(
        "vehicle_theft",
        "050211",
        55.0,
        "night",
        "weekday",
        0.06,
        -0.03,
        0.9,
        (0.3, 0.6, 0, 0, 0, 0.1, 0),
        _Z5,
        -1,
        1.0,
        0.7,
        (40, 12, 18),
        _Z10,
        (0, 0, 0, 1),
        0.07,
        None,
        "illicit_gain",
    ),
    _t(
        "theft_person",
        "050221",
        230.0,
        "day",
        "weekday",
        0.12,
        0.01,
        1.2,
        (0.02, 0.8, 0.02, 0, 0, 0.16, 0),
        _Z5,
        -1,
        1.0,
        0.48,
        (33, 14, 10),
        _Z10,
        (0, 0, 0, 1),
        0.1,
        None,
        "illicit_gain",
    ),
    _t(
        "drug_possession",
        "060111",
        45.0,
        "night",
        "weekend",
        0.05,
        0.02,
        0.6,
        (0.05, 0.85, 0.03, 0.02, 0, 0.05, 0),
        _Z5,
        -1,
        0.0,
        0.5,
        (25, 8, 14),
        _Z10,
        _Z4,
        1.0,
    ),
    _t(
        "drug_trafficking",
        "060121",
        18.0,
        "night",
        "flat",
        0.03,
        0.04,
        0.6,
        (0.35, 0.5, 0, 0.05, 0, 0.1, 0),
        _Z5,
        -1,
        0.0,
        0.5,
        (25, 8, 14),
        _Z10,
        _Z4,
        1.0,
        "organized_crime",
        "illicit_gain",
    ),
    _t(
        "cyber_fraud",
        "07011",
        35.0,
        "office",
        "weekday",
        0.02,
        0.22,
        0.7,
        (0.5, 0, 0, 0, 0, 0.2, 0.3),
        (0, 0, 0, 0, 1),
        -1,
        1.0,
        0.5,
        (41, 15, 18),
        _Z10,
        (0, 0, 0, 1),
        0.05,
        None,
        "illicit_gain",
        1.0,
    ),
    _t(
        "computer_access",
        "09031",
        6.0,
        "office",
        "weekday",
        0.0,
        0.25,
        0.8,
        (0.4, 0, 0, 0, 0, 0.4, 0.2),
        (0, 0, 0, 0, 1),
        -1,
        1.0,
        0.5,
        (38, 13, 18),
        _Z10,
        (0, 0, 0, 1),
        0.05,
        None,
        None,
        1.0,
    ),
    _t(
        "firearm_possession",
        "090111",
        25.0,
        "night",
        "weekend",
        0.05,
        0.0,
        0.4,
        (0.05, 0.9, 0, 0.02, 0, 0.03, 0),
        (1, 0, 0, 0, 0),
        -1,
        0.0,
        0.5,
        (26, 8, 16),
        _Z10,
        _Z4,
        1.0,
    ),
)
TYPE_INDEX: Mapping[str, int] = MappingProxyType({t.key: i for i, t in enumerate(CRIME_TYPES)})
LESIONES_MINOR_ICCS = "020112"
FEMALE_HOMICIDE_SHARE = 0.12
FEMICIDE_SHARE_OF_FEMALE = 0.45
HOMICIDE_TYPES = ("homicide", "femicide")
DEATH_TYPES = ("homicide", "femicide", "traffic_death")


def hour_cdf() -> np.ndarray:
    """(types, 24) cumulative hour distribution."""
    w = np.array([_H[t.hours] for t in CRIME_TYPES], dtype=float)
    return np.cumsum(w / w.sum(1, keepdims=True), axis=1)


def dow_weights() -> np.ndarray:
    """(types, 7) day-of-week weights (Mon..Sun)."""
    return np.array([_D[t.dow] for t in CRIME_TYPES], dtype=float)


def cdf(attr: str) -> np.ndarray:
    """(types, K+1) cumulative distribution over a categorical attribute's values; the
    last column stands for NULL (types whose probabilities are all zero)."""
    p = np.array([getattr(t, attr) for t in CRIME_TYPES], dtype=float)
    null = (p.sum(1) == 0).astype(float)
    p = np.column_stack([p, null])
    return np.cumsum(p / p.sum(1, keepdims=True), axis=1)


# ---------------------------------------------------------------------------------------------
# National code lists (per source) and crosswalks to ICCS.
# Each entry: national_code -> (label, [(iccs, mapping_type, condition, sets)], crime type keys)


@dataclass(frozen=True)
class CodeList:
    """An agency's own offence code list and its crosswalk to ICCS."""

    source: str
    codes: Mapping[str, str]  # national code -> Spanish label
    by_type: Mapping[str, str]  # crime type key -> national code
    crosswalk: tuple[tuple[str, str, str, str, str, str], ...]
    # (national_code, label, iccs, mapping_type, condition, sets)
    unmapped: Mapping[str, str]  # codes in use by the agency that the crosswalk leaves out


def _codelist(source: str, rows: list[tuple], unmapped: dict[str, str]) -> CodeList:
    codes: dict[str, str] = {}
    by_type: dict[str, str] = {}
    cw: list[tuple[str, str, str, str, str, str]] = []
    for code, label, types, maps in rows:
        codes[code] = label
        for t in types:
            by_type[t] = code
        for iccs, mtype, cond, sets in maps:
            cw.append((code, label, iccs, mtype, cond, sets))
    return CodeList(
        source,
        MappingProxyType(codes),
        MappingProxyType(by_type),
        tuple(cw),
        MappingProxyType(unmapped),
    )


_SERIOUS = "victim.outcome = serious_injury"
_NOT_SERIOUS = "victim.outcome != serious_injury"
_IPF = "situational_context=intimate_partner_family"

PN_CODES = _codelist(
    "policia_nacional",
    [
        ("HOM-DOL", "Homicidio doloso", ["homicide"], [("0101", "exact", "", "")]),
        ("FEM", "Feminicidio", ["femicide"], [("0101", "narrower", "", _IPF)]),
        (
            "HOM-CUL",
            "Homicidio culposo en accidente de tránsito",
            ["traffic_death"],
            [("010321", "exact", "", "")],
        ),
        (
            "HOM-TEN",
            "Homicidio en grado de tentativa",
            ["attempted_homicide"],
            [("0102", "exact", "", "")],
        ),
        (
            "LES-PER",
            "Lesiones personales",
            ["lesiones"],
            [("020111", "narrower", _SERIOUS, ""), ("020112", "narrower", _NOT_SERIOUS, "")],
        ),
        ("AME", "Amenazas", ["threat"], [("02012", "exact", "", "")]),
        ("VIF", "Violencia intrafamiliar", ["ipv"], [("02011", "partial", "", _IPF)]),
        ("SEC", "Secuestro", ["kidnapping"], [("020221", "exact", "", "")]),
        ("EXT", "Extorsión", ["extortion"], [("02051", "exact", "", "")]),
        ("VIO", "Violación", ["rape"], [("03011", "exact", "", "")]),
        ("ABU-SEX", "Abuso sexual", ["sexual_assault"], [("03012", "exact", "", "")]),
        (
            "ROB-PER",
            "Robo con violencia a personas",
            ["robbery_person"],
            [("04011", "exact", "", "")],
        ),
        (
            "ROB-VEH",
            "Robo de vehículo con violencia",
            ["robbery_vehicle"],
            [("040121", "exact", "", "")],
        ),
        ("ROB-VIV", "Robo en vivienda", ["burglary_residence"], [("05012", "exact", "", "")]),
        (
            "ROB-COM",
            "Robo en establecimiento comercial",
            ["burglary_business"],
            [("05011", "exact", "", "")],
        ),
        ("HUR-VEH", "Hurto de vehículo", ["vehicle_theft"], [("050211", "exact", "", "")]),
        ("HUR-PER", "Hurto a personas", ["theft_person"], [("050221", "exact", "", "")]),
        (
            "DRO-POS",
            "Posesión de drogas para consumo",
            ["drug_possession"],
            [("060111", "exact", "", "")],
        ),
        ("DRO-TRA", "Tráfico de drogas", ["drug_trafficking"], [("060121", "broader", "", "")]),
        ("EST-INF", "Estafa informática", ["cyber_fraud"], [("07011", "narrower", "", "")]),
        (
            "ACC-INF",
            "Acceso ilícito a sistema informático",
            ["computer_access"],
            [("09031", "exact", "", "")],
        ),
        (
            "POR-ARM",
            "Portación ilegal de arma de fuego",
            ["firearm_possession"],
            [("090111", "exact", "", "")],
        ),
    ],
    {"HOM-ESP": "Homicidio especial (código sin homologar)", "DEL-VAR": "Delitos varios"},
)

PM_CODES = _codelist(
    "policia_metropolitana",
    [
        ("121", "Homicidio", ["homicide"], [("0101", "exact", "", "")]),
        ("121-A", "Femicidio", ["femicide"], [("0101", "narrower", "", _IPF)]),
        ("128", "Homicidio culposo (tránsito)", ["traffic_death"], [("010321", "exact", "", "")]),
        ("121-T", "Tentativa de homicidio", ["attempted_homicide"], [("0102", "exact", "", "")]),
        (
            "140",
            "Lesiones",
            ["lesiones"],
            [("020111", "narrower", _SERIOUS, ""), ("020112", "narrower", _NOT_SERIOUS, "")],
        ),
        ("145", "Amenazas", ["threat"], [("02012", "exact", "", "")]),
        ("149-B", "Violencia doméstica", ["ipv"], [("02011", "partial", "", _IPF)]),
        ("150", "Secuestro", ["kidnapping"], [("020221", "exact", "", "")]),
        ("152", "Extorsión", ["extortion"], [("02051", "exact", "", "")]),
        ("160", "Violación", ["rape"], [("03011", "exact", "", "")]),
        ("161", "Abusos deshonestos", ["sexual_assault"], [("03012", "exact", "", "")]),
        ("170", "Robo agravado a transeúnte", ["robbery_person"], [("04011", "exact", "", "")]),
        ("171", "Robo de vehículo", ["robbery_vehicle"], [("040121", "exact", "", "")]),
        ("180", "Robo en casa de habitación", ["burglary_residence"], [("05012", "exact", "", "")]),
        ("181", "Robo en comercio", ["burglary_business"], [("05011", "exact", "", "")]),
        ("190", "Hurto de vehículo", ["vehicle_theft"], [("050211", "exact", "", "")]),
        ("191", "Hurto simple", ["theft_person"], [("050221", "broader", "", "")]),
        ("200", "Tenencia de drogas", ["drug_possession"], [("060111", "exact", "", "")]),
        ("201", "Narcomenudeo y tráfico", ["drug_trafficking"], [("060121", "exact", "", "")]),
        ("217", "Estafa por medios electrónicos", ["cyber_fraud"], [("07011", "narrower", "", "")]),
        ("218", "Intrusión informática", ["computer_access"], [("09031", "exact", "", "")]),
        ("230", "Tenencia ilegal de armas", ["firearm_possession"], [("090111", "exact", "", "")]),
    ],
    {"999": "Otros hechos", "123-X": "Artículo derogado"},
)

IML_CODES = _codelist(
    "medicina_legal",
    [
        ("MM-HOM", "Homicidio", ["homicide", "femicide"], [("0101", "exact", "", "")]),
        ("MM-TRA", "Accidente de tránsito", ["traffic_death"], [("010321", "partial", "", "")]),
    ],
    {"MM-IND": "Indeterminada en estudio", "MM-OTR": "Otra manera de muerte"},
)

SPN_CODES = _codelist(
    "penitenciario",
    [
        ("D01", "Homicidio", ["homicide"], [("0101", "broader", "", "")]),
        ("D02", "Robo", ["robbery"], [("0401", "exact", "", "")]),
        ("D03", "Tráfico de estupefacientes", ["drugs"], [("06012", "exact", "", "")]),
        ("D04", "Delitos sexuales", ["sexual"], [("0301", "exact", "", "")]),
        ("D05", "Lesiones", ["assault"], [("02011", "exact", "", "")]),
        ("D06", "Extorsión", ["extortion"], [("02051", "exact", "", "")]),
        ("D07", "Hurto", ["theft"], [("0502", "exact", "", "")]),
        ("D08", "Infracción a la ley de armas", ["weapons"], [("0901", "exact", "", "")]),
    ],
    {"D99": "Otros delitos", "DX": "Código no informado"},
)

#: Prison admissions: offence of admission shares (SPN code list keys).
PRISON_OFFENCES = (
    ("D01", 0.10),
    ("D02", 0.24),
    ("D03", 0.28),
    ("D04", 0.08),
    ("D05", 0.09),
    ("D06", 0.06),
    ("D07", 0.11),
    ("D08", 0.04),
)
PRISON_RATE = 150.0  # admissions per 100,000 per year
PRETRIAL_SHARE = 0.45

CODE_LISTS: Mapping[str, CodeList] = MappingProxyType(
    {c.source: c for c in (PN_CODES, PM_CODES, IML_CODES, SPN_CODES)}
)
