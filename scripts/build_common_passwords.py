"""Regenerate idp/crypto/data/common_passwords.txt.

Run in a throwaway venv with `pip install zxcvbn==4.5.0`; the provider itself does not
depend on zxcvbn, it only reads the generated file.
"""

from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-not-found]

# Patterns common among Chinese users that the Western-sourced list misses.
EXTRA = [
    "woaini1314",
    "woaini520",
    "5201314520",
    "1314520520",
    "qq123456789",
    "a123456789",
    "a12345678",
    "aa123456",
    "abc123456",
    "qwe123456",
    "zxc123456",
    "asd123456",
    "123456abc",
    "123456789a",
    "147258369",
    "159357456",
    "1qaz2wsx3edc",
    "1q2w3e4r5t",
    "11223344",
    "12341234",
    "66666666",
    "88888888",
    "99999999",
    "00000000",
    "123123123",
    "321321321",
    "woaini123",
    "iloveyou1314",
    "wang123456",
    "zhang123456",
    "li123456789",
    "admin123",
    "admin1234",
    "admin12345",
    "password1",
    "password123",
    "p@ssw0rd",
    "passw0rd",
]

HEADER = """\
# Common passwords refused at registration and password change (NIST SP 800-63B 3.1.1.2).
# Lower-cased, 8 characters or more. Derived from the zxcvbn 4.5.0 frequency list (MIT) plus
# patterns common among Chinese users. Regenerate with scripts/build_common_passwords.py.
"""


def main() -> None:
    seen: set[str] = set()
    out: list[str] = []
    for word in EXTRA + FREQUENCY_LISTS["passwords"]:
        word = word.lower()
        if len(word) >= 8 and word not in seen:
            seen.add(word)
            out.append(word)
    target = Path(__file__).parents[1] / "idp/crypto/data/common_passwords.txt"
    target.write_text(HEADER + "\n".join(out) + "\n", encoding="utf-8")
    print(f"{len(out)} passwords written to {target}")


if __name__ == "__main__":
    main()
