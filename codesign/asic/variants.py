"""Names of the design variants the implementation flows build (light: the CLI parses them for --help).

``fixed`` is the da4ml core with its weights wired into the logic; ``reconfig`` keeps the weights in a
configuration register, ``reconfig_tmr`` triplicates that register; a suffix ``_rR`` (R >= 2) shares each
multiplier of a reconfigurable core among R products (reuse factor R), e.g. ``reconfig_tmr_r4``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_VARIANTS = ("fixed", "reconfig", "reconfig_tmr")
_NAME = re.compile(r"^(fixed|reconfig|reconfig_tmr)(?:_r([1-9]\d*))?$")


@dataclass(frozen=True)
class Variant:
    name: str
    reconfigurable: bool
    tmr: bool
    reuse: int


def parse_variant(name: str) -> Variant:
    m = _NAME.match(name)
    reuse = int(m.group(2) or 1) if m else 0
    if not m or reuse < 1 or (m.group(1) == "fixed" and m.group(2)) or m.group(2) == "1":
        raise ValueError(f"unknown design variant {name!r}: fixed, reconfig or reconfig_tmr, the reconfigurable "
                         "ones with an optional reuse factor suffix _rR (R >= 2), e.g. reconfig_tmr_r4")
    return Variant(name, m.group(1) != "fixed", m.group(1) == "reconfig_tmr", reuse)
