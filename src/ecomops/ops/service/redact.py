"""Personal data out of log lines (and out of anything stored from a customer's message).

Replaced: e-mail addresses -> ``[EMAIL]``; Chinese resident ID numbers (18 characters, a valid
birth date inside) -> ``[ID]``; payment-card numbers (13-19 digits, optionally grouped by spaces or
dashes, passing the Luhn check) -> ``[CARD]``; phone numbers (Chinese mobiles ``1[3-9]`` + 9 digits,
``+CC ...`` international numbers, ``(555) 123-4567`` style) -> ``[PHONE]``. Order ids are not
personal data: a number right after "order", "order id/no/number", "#" or "订单(号)" is kept.

>>> redact("Mail me at li.lei@example.com or call 13812345678, order 113542617735902")
'Mail me at [EMAIL] or call [PHONE], order 113542617735902'
>>> redact("card 4111 1111 1111 1111, ID 110101199003077777")
'card [CARD], ID [ID]'
"""

from __future__ import annotations

import re

__all__ = ["redact", "luhn_ok"]

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])")
_CN_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{4}){2}(?!\d)")
_INTL_PHONE = re.compile(r"(?<![\w+])\+\d{1,3}[\s\-.]?(?:\(?\d{1,4}\)?[\s\-.]?){2,5}\d{2,4}(?!\d)")
_NANP_PHONE = re.compile(r"(?<!\d)(?:\(\d{3}\)\s?|\d{3}[\-.\s])\d{3}[\-.\s]\d{4}(?!\d)")
_ORDER_CONTEXT = re.compile(
    r"(?:order|purchase|tracking|invoice|parcel|shipment)(?:\s*(?:id|no\.?|number|#|num))?\s*[:#]?\s*$|#\s*$|订单号?[:：\s]*$|单号[:：\s]*$",
    re.IGNORECASE,
)


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def _is_order_id(text: str, start: int) -> bool:
    return bool(_ORDER_CONTEXT.search(text[max(0, start - 24):start]))


def _sub_numbers(pattern: re.Pattern, text: str, label: str, check=None) -> str:
    def repl(m: re.Match) -> str:
        if _is_order_id(m.string, m.start()):
            return m.group(0)
        if check is not None and not check(m.group(0)):
            return m.group(0)
        return label

    return pattern.sub(repl, text)


def _card_ok(s: str) -> bool:
    digits = re.sub(r"\D", "", s)
    return 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1


def redact(text: str) -> str:
    """``text`` with personal data replaced by ``[EMAIL]``, ``[ID]``, ``[CARD]``, ``[PHONE]``."""
    if not text:
        return text
    text = _EMAIL.sub("[EMAIL]", str(text))
    text = _sub_numbers(_ID, text, "[ID]")
    text = _sub_numbers(_CARD, text, "[CARD]", _card_ok)
    text = _sub_numbers(_CN_MOBILE, text, "[PHONE]")
    text = _sub_numbers(_INTL_PHONE, text, "[PHONE]")
    text = _sub_numbers(_NANP_PHONE, text, "[PHONE]")
    return text
