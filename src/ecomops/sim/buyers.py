"""Business buyers: companies with purchasing accounts, devices, office networks and staples.

Each company reorders its staple products roughly every ``cycle_days`` (a few days to a month)
from the one or two merchants it works with, in business hours; about one in ten runs an ERP
that reorders automatically at night through the API. Companies are replaced now and then by
new ones and staff accounts turn over, so fresh accounts are not only a fraud signal.

>>> import random
>>> from ecomops.sim.buyers import scrambled_id
>>> ids = {scrambled_id("B", k, 1) for k in range(10_000)}
>>> len(ids), scrambled_id("B", 0, 1)[0], len(scrambled_id("B", 0, 1))
(10000, 'B', 9)
"""

from __future__ import annotations

import bisect
import random

DAY = 86400.0
_MUL = 2_654_435_761  # odd and not a multiple of 5: k -> k * _MUL mod 10**8 is a bijection
# Mobile carriers' NAT ranges: a few /24s shared by many unrelated phones (and by phone farms).
CARRIER_PREFIXES = tuple(f"{n}.{k}" for n in ("117.136", "223.104", "112.97", "39.144", "120.229")
                         for k in (12, 37, 64, 101, 150, 188, 203, 240))
_OFFICE_NETS = ("113.", "183.", "61.", "222.", "58.", "124.", "218.", "27.")
_COUNTRIES = ("CN",) * 40 + ("HK", "SG", "MY", "VN", "US", "DE")
_WORK_HOURS = (8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 13.5, 14.0, 15.0, 16.0, 17.0)  # lunch is sacred
_CO_WORDS = ("精工", "鑫源", "华泰", "东方", "润达", "海纳", "远航", "立信", "中联", "天成", "佳美", "盛世")
_CO_KINDS = ("制造", "贸易", "物流", "餐饮管理", "科技", "电子厂", "服装厂", "商贸")


def scrambled_id(prefix: str, k: int, salt: int) -> str:
    """Distinct, random-looking ids from a counter (no lookup table to keep in memory)."""
    return f"{prefix}{(k * _MUL + salt * 7_777_777) % 100_000_000:08d}"


def device_id(rng: random.Random) -> str:
    return f"dev-{rng.getrandbits(48):012x}"


class Account:
    __slots__ = ("account_id", "created_ts", "devices", "ip", "channel", "country")

    def __init__(self, account_id, created_ts, devices, ip, channel, country):
        self.account_id, self.created_ts, self.devices = account_id, created_ts, devices
        self.ip, self.channel, self.country = ip, channel, country


class Buyer:
    __slots__ = ("index", "buyer_id", "name", "size", "merchants", "merchant_cum", "fav", "staples", "accounts",
                 "office_net", "erp", "new_until", "weight", "intent")

    def summary(self) -> dict:
        return {"buyer_id": self.buyer_id, "name": self.name, "size": round(self.size, 2), "erp": self.erp,
                "merchants": self.merchants, "n_accounts": len(self.accounts), "n_staples": len(self.staples)}


class Staple:
    """A product a company buys again and again: (product index, quantity, cycle, next due ts)."""

    __slots__ = ("product", "qty", "cycle_days", "due")

    def __init__(self, product, qty, cycle_days, due):
        self.product, self.qty, self.cycle_days, self.due = product, qty, cycle_days, due


def business_time(rng: random.Random, ts: float, start_ts: float, night: bool = False) -> float:
    """Move ``ts`` to a working hour (or a small-hours ERP slot) of the same day."""
    day0 = start_ts + ((ts - start_ts) // DAY) * DAY
    hour = rng.uniform(1.0, 5.0) if night else rng.choice(_WORK_HOURS)
    out = day0 + hour * 3600.0 + rng.uniform(0, 1800.0)
    return out if out > ts else out + DAY


class BuyerBook:
    """All buyer companies; sized by ``n_buyers``, never by the number of events."""

    def __init__(self, rng: random.Random, n_buyers: int, merchants, products, start_ts: float, salt: int):
        self.rng, self.merchants, self.products, self.start_ts, self.salt = rng, merchants, products, start_ts, salt
        self._next_buyer = 0
        self._next_account = 0
        self._pools: dict = {}  # (merchant, category, live-at-start) -> candidate staple products
        self.buyers: list[Buyer] = []
        for i in range(n_buyers):
            self.buyers.append(self._new_buyer(i, start_ts, established=rng.random() >= 0.03))
        self._rebuild_weights()

    # -- construction --------------------------------------------------------------------------
    def new_buyer_id(self) -> str:
        # one counter for legit companies and fraud rings' shell accounts: ids never collide
        self._next_buyer += 1
        return scrambled_id("B", self._next_buyer - 1, self.salt)

    def new_account_id(self) -> str:
        self._next_account += 1
        return scrambled_id("A", self._next_account - 1, self.salt)

    def new_account(self, created_ts: float, office_ip: str, erp: bool, country: str) -> Account:
        rng = self.rng
        aid = self.new_account_id()
        devices = [device_id(rng) for _ in range(1 if rng.random() < 0.7 else 2)]
        # offices sit behind one NAT address; a few people buy from phones on carrier networks
        if rng.random() < 0.15:
            ip = f"{rng.choice(CARRIER_PREFIXES)}.{rng.randint(1, 254)}"
        else:
            ip = office_ip
        r = rng.random()
        if erp:
            channel = "api"
        else:
            channel = "web" if r < 0.55 else "app" if r < 0.8 else "erp_punchout" if r < 0.9 else "mini_program"
        return Account(aid, created_ts, devices, ip, channel, country)

    def _new_buyer(self, index: int, now: float, established: bool) -> Buyer:
        rng = self.rng
        b = Buyer()
        b.index = index
        b.buyer_id = self.new_buyer_id()
        b.name = f"{rng.choice(_CO_WORDS)}{rng.choice(_CO_KINDS)}有限公司"
        b.size = min(rng.lognormvariate(0.0, 0.8), 12.0)
        b.weight = 0.5 + b.size
        b.intent = min(rng.lognormvariate(-0.405, 0.9), 8.0)  # browsers vs buyers: mean 1
        b.erp = rng.random() < 0.1
        b.office_net = f"{rng.choice(_OFFICE_NETS)}{rng.randint(0, 255)}.{rng.randint(0, 255)}"
        country = rng.choice(_COUNTRIES)
        n_merch = 1 if rng.random() < 0.45 else 2 if rng.random() < 0.8 else 3
        b.merchants = rng.sample(range(len(self.merchants)), min(n_merch, len(self.merchants)))
        acc, cum = 0.0, []
        for _ in b.merchants:
            acc += rng.uniform(0.5, 1.5)
            cum.append(acc)
        b.merchant_cum = cum
        b.fav = {m: rng.choice(self.merchants[m].initial_categories) for m in b.merchants}
        # Procurement agencies (采购代理) run one account per client from a couple of office PCs:
        # legit device sharing, so many accounts on one device is a clue, not a verdict.
        agent = rng.random() < 0.05
        n_acc = rng.randint(6, 16) if agent else 1 + min(int(rng.expovariate(1.0 / (0.6 + 0.4 * b.size))), 4)
        b.accounts = []
        for _ in range(n_acc):
            if not established:
                age = rng.uniform(0.02, 3.0)
            elif agent:
                age = rng.uniform(0.5, 400) if rng.random() < 0.6 else rng.uniform(0.2, 20)
            else:
                age = rng.uniform(30, 1500)
            a = self.new_account(now - age * DAY, b.office_net + f".{rng.randint(2, 254)}", b.erp, country)
            b.accounts.append(a)
        if agent:
            pcs = [device_id(rng) for _ in range(rng.randint(1, 3))]
            for a in b.accounts:
                a.devices = [rng.choice(pcs)]
        elif n_acc > 1 and rng.random() < 0.3:  # a shared office PC
            b.accounts[1].devices[0] = b.accounts[0].devices[0]
        b.staples = []
        for _ in range(rng.randint(4, 9) if agent else rng.randint(2, 5)):
            m = b.merchants[0] if rng.random() < 0.7 else rng.choice(b.merchants)
            pool = self._staple_pool(m, b.fav[m], now)
            if not pool:
                continue
            p = self.products[rng.choice(pool)]
            cycle = min(max(rng.lognormvariate(2.0, 0.5), 2.0), 35.0)  # median ~7 days
            qty = p.pack * max(1, int(round(rng.lognormvariate(0.7, 0.6) * b.size)))
            due = business_time(rng, now + rng.uniform(0, cycle) * DAY, self.start_ts, night=b.erp)
            b.staples.append(Staple(p.index, qty, cycle, due))
        b.new_until = now + 10 * DAY if not established else 0.0  # trial orders first
        return b

    def _staple_pool(self, m: int, cat: str, now: float) -> list[int]:
        ps = self.products
        key = (m, cat, sum(ps[p].available_ts <= now for p in self.merchants[m].products))
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = [p for p in self.merchants[m].products
                                       if ps[p].available_ts <= now and ps[p].category == cat]
        return pool

    def _rebuild_weights(self) -> None:
        acc, cum = 0.0, []
        for b in self.buyers:
            acc += b.weight
            cum.append(acc)
        self._cum, self._total = cum, acc

    # -- use -----------------------------------------------------------------------------------
    def pick(self, u: float) -> Buyer:
        """A buyer, bigger companies more often; ``u`` uniform in [0, 1)."""
        return self.buyers[min(bisect.bisect_right(self._cum, u * self._total), len(self.buyers) - 1)]

    def next_due(self, b: Buyer) -> float:
        return min((s.due for s in b.staples), default=float("inf"))

    def turnover(self, now: float, rate: float = 0.002) -> list[Buyer]:
        """Daily churn: a few companies are replaced by new ones, a few staff accounts by new hires."""
        rng, replaced = self.rng, []
        for i, b in enumerate(self.buyers):
            r = rng.random()
            if r < rate:
                nb = self._new_buyer(i, now, established=False)
                self.buyers[i] = nb
                replaced.append(nb)
            elif r < 3 * rate and b.accounts:
                k = rng.randrange(len(b.accounts))
                old = b.accounts[k]
                b.accounts[k] = self.new_account(now - rng.uniform(0.01, 1.0) * DAY, old.ip, b.erp, old.country)
        if replaced:
            self._rebuild_weights()
        return replaced
