"""The synthetic world the reference services and fakes answer from: visibly made-up
persons and enterprises (never real ones), deterministic from a seed.

- Persons: 测试甲 … 测试癸, then 演示一号, 演示二号 …; resident ID numbers in region 110101
  with sequence codes 990–999 and correct GB 11643 check digits. Every tenth person from
  the ninth on is deceased, every tenth from the tenth on cancelled; the rest are alive.
- Enterprises: 演示…有限公司 with USCCs in region 110101, organisation codes 9999xxxx
  (GB 11714 check digit) and correct GB 32100 check characters; the third one has a
  letter registration authority (N2, a farmers' cooperative). Statuses cycle active,
  active, active, revoked, cancelled. Legal representatives are living synthetic persons.
- Faces: `face_image`, `liveness_token` and `face_score` are the deterministic rule the
  face service applies, so tests and the demo can make matching and non-matching images.

    python -m connectors.synthetic --seed 2026 --out instance/registry.json
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import hmac
import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes

__all__ = [
    "Dataset",
    "SyntheticEnterprise",
    "SyntheticPerson",
    "decode_image",
    "face_image",
    "face_score",
    "generate",
    "is_live",
    "liveness_token",
    "load",
    "org_code_check",
    "resident_id_check",
    "save",
    "uscc_check",
]

REGION = "110101"
STEMS = "甲乙丙丁戊己庚辛壬癸"
INDUSTRIES = ("科技", "贸易", "建设", "咨询", "物流")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_FACE_MAGIC = b"SYNTHETIC-FACE\x00"


@dataclass(frozen=True)
class SyntheticPerson:
    name: str
    id_number: str
    status: str  # alive | deceased | cancelled
    photo_template_id: str


@dataclass(frozen=True)
class SyntheticEnterprise:
    uscc: str
    name: str
    status: str  # active | revoked | cancelled
    legal_rep_name: str
    legal_rep_id_number: str


@dataclass(frozen=True)
class Dataset:
    seed: int
    persons: tuple[SyntheticPerson, ...]
    enterprises: tuple[SyntheticEnterprise, ...]

    def persons_with(self, status: str) -> list[SyntheticPerson]:
        return [p for p in self.persons if p.status == status]

    def enterprises_with(self, status: str) -> list[SyntheticEnterprise]:
        return [e for e in self.enterprises if e.status == status]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Dataset:
        raw = json.loads(text)
        return cls(
            seed=int(raw["seed"]),
            persons=tuple(SyntheticPerson(**p) for p in raw["persons"]),
            enterprises=tuple(SyntheticEnterprise(**e) for e in raw["enterprises"]),
        )


def resident_id_check(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return "0123456789X"[(12 - total % 11) % 11]


def uscc_check(first17: str) -> str:
    """GB 32100 check character (MOD 31 over the 31-character alphabet)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check(body8: str) -> str:
    """GB 11714 check character of an eight-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else str(check % 11)


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _numeral(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def _person_name(i: int) -> str:
    return f"测试{STEMS[i]}" if i < len(STEMS) else f"演示{_numeral(i - len(STEMS) + 1)}号"


def _person_status(i: int) -> str:
    return {8: "deceased", 9: "cancelled"}.get(i % 10, "alive")


def _persons(rng: random.Random, seed: int, count: int) -> list[SyntheticPerson]:
    first, span = dt.date(1950, 1, 1), (dt.date(2005, 12, 31) - dt.date(1950, 1, 1)).days
    taken: set[str] = set()
    persons = []
    for i in range(count):
        while True:
            born = first + dt.timedelta(days=rng.randrange(span))
            first17 = f"{REGION}{born:%Y%m%d}99{rng.randrange(10)}"
            if first17 not in taken:
                break
        taken.add(first17)
        id_number = first17 + resident_id_check(first17)
        photo = "ph-" + _sm3(f"{seed}:{id_number}".encode()).hex()[:20]
        persons.append(SyntheticPerson(_person_name(i), id_number, _person_status(i), photo))
    return persons


def _enterprises(
    rng: random.Random, count: int, persons: list[SyntheticPerson]
) -> list[SyntheticEnterprise]:
    alive = [p for p in persons if p.status == "alive"]
    if count and not alive:
        raise ValueError("enterprises need at least one living synthetic person")
    reps = rng.sample(alive, count) if count <= len(alive) else rng.choices(alive, k=count)
    codes = rng.sample(range(10000), count)
    enterprises = []
    for i, (rep, code) in enumerate(zip(reps, codes, strict=True)):
        label = STEMS[i] if i < len(STEMS) else _numeral(i + 1) + "号"
        if i == 2:
            kind, name = "N2", f"演示{label}农民专业合作社"
        else:
            kind, name = "91", f"演示{label}{INDUSTRIES[i % len(INDUSTRIES)]}有限公司"
        body = f"9999{code:04d}"
        first17 = f"{kind}{REGION}{body}{org_code_check(body)}"
        status = ("active", "active", "active", "revoked", "cancelled")[i % 5]
        uscc = first17 + uscc_check(first17)
        enterprises.append(SyntheticEnterprise(uscc, name, status, rep.name, rep.id_number))
    return enterprises


def generate(seed: int = 2026, persons: int = 20, enterprises: int = 10) -> Dataset:
    """The same seed and counts always give the same dataset."""
    if not 0 <= persons <= 99 or not 0 <= enterprises <= 99:
        raise ValueError("between 0 and 99 persons and enterprises")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    people = _persons(rng, seed, persons)
    return Dataset(seed, tuple(people), tuple(_enterprises(rng, enterprises, people)))


def save(dataset: Dataset, path: str | Path) -> None:
    Path(path).write_text(dataset.to_json() + "\n", encoding="utf-8")


def load(path: str | Path) -> Dataset:
    return Dataset.from_json(Path(path).read_text(encoding="utf-8"))


# Faces. A synthetic "live image" names the photo template it shows; the face service
# scores it 0.90-0.99 against that template and below 0.40 against any other (the exact
# value comes from the image's SM3 hash, so it is stable). A liveness token is valid only
# for the image it was issued with: "live-" + the first 32 hex digits of SM3(image).


def face_image(photo_template_id: str, variant: int = 0) -> str:
    """A base64 "camera frame" of the person whose registry photo is `photo_template_id`."""
    raw = _FACE_MAGIC + photo_template_id.encode() + b"\x00" + str(variant).encode()
    return base64.b64encode(raw).decode()


def decode_image(image_b64: str) -> bytes:
    """The image bytes; ValueError when `image_b64` is not base64."""
    try:
        return base64.b64decode(image_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def liveness_token(image_b64: str) -> str:
    """What a liveness SDK on the device would issue for this frame."""
    return "live-" + _sm3(decode_image(image_b64)).hex()[:32]


def is_live(image: bytes, token: str) -> bool:
    expected = "live-" + _sm3(image).hex()[:32]
    return hmac.compare_digest(expected.encode(), token.encode())


def face_score(photo_template_id: str, image: bytes) -> float:
    jitter = _sm3(image)[0] / 255
    shown = image[len(_FACE_MAGIC) :].split(b"\x00")[0] if image.startswith(_FACE_MAGIC) else b""
    if shown and shown == photo_template_id.encode():
        return round(0.90 + 0.09 * jitter, 4)
    return round(0.40 * jitter * 0.999, 4)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic registry data file.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--persons", type=int, default=20)
    parser.add_argument("--enterprises", type=int, default=10)
    parser.add_argument("--out", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    dataset = generate(args.seed, args.persons, args.enterprises)
    if args.out:
        save(dataset, args.out)
    else:
        sys.stdout.write(dataset.to_json() + "\n")


if __name__ == "__main__":
    main()
