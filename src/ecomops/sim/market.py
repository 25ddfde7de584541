"""The marketplace while it runs: who does what next, as a heap of pending events.

The simulator asks for one event per clock slot. If a pending event is due, that one goes out;
otherwise a new activity starts and schedules its events into the heap: a browsing session
(views, clicks, maybe carts and an order), a company's staple reorder, a fraud ring's burst, a
listing update, a quote request or an inventory check. All state is sized by the world
(merchants, products, buyers, rings) and by a bounded time window of pending events.

>>> from ecomops.sim import SimConfig, Simulator
>>> types = {ev["type"] for ev, _ in Simulator(SimConfig(seed=1)).stream(3000)}
>>> {"view", "click", "order"} <= types
True
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import defaultdict
from heapq import heappop, heappush

from .buyers import BuyerBook, business_time
from .followups import DAY, HOUR, FollowUps
from .fraud import Ring
from .inventory import Inventory
from .listings import make_listing
from .texts import TICKET_INTENTS

INF = float("inf")
_VIEW_COUNTS = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 9)
_CLICK_RATE = 0.33
_CHECKOUT_RATE = 0.8
_CHANNELS = ("web", "app", "mini_program")


def _cum(weights):
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


class Market(FollowUps):
    def __init__(self, cfg, schedule, merchants, products):
        s = cfg.seed
        self.cfg, self.schedule, self.merchants, self.products = cfg, schedule, merchants, products
        self.rng = random.Random(s * 1_000_003 + 11)
        self.r = self.rng.random
        self.book = BuyerBook(random.Random(s * 1_000_003 + 12), cfg.n_buyers, merchants, products, cfg.start_ts, s)
        bursts = cfg.ring_bursts_per_day * cfg.events_per_day / 33_334  # fraud share independent of traffic
        self.rings = [Ring(plan, random.Random(s * 1_000_003 + 100 + k), self.book, products,
                           merchants[plan.merchant].products, bursts, cfg.ring_burst_orders)
                      for k, plan in enumerate(schedule.rings)]
        # the stock policy's demand prior was fitted on the default world (33k events/day, 960
        # products): demand per product grows with traffic and shrinks with more products sharing it
        scale = cfg.events_per_day / 33_334 * 960 / len(products)
        self.inv = Inventory(random.Random(s * 1_000_003 + 13), products, merchants, scale)
        self.heap: list = []
        self.seq = 0
        self.session_no = self.order_no = self.ticket_no = 0
        self.counts: dict = defaultdict(int)
        self.violations: dict = defaultdict(int)
        # (next staple due, tie-breaker, buyer): one live entry per company, stale ones skipped when popped
        self.reorders = [(self.book.next_due(b), b.index, b) for b in self.book.buyers]
        self.reorders.sort(key=lambda e: (e[0], e[1]))
        self.reorder_no = len(self.reorders)
        self._changes = schedule.change_times()
        self.next_change = -INF
        self._ring_due()
        for cat, m, ts in schedule.launches:  # the new category's catalogue is uploaded just before launch
            for p in merchants[m].products:
                if products[p].category == cat:
                    self._listing(ts - 6 * HOUR * self.r(), p)

    # -- regime: what is shown and bought, rebuilt only when the schedule changes something -------
    def _apply_regime(self, t):
        sched, products = self.schedule, self.products
        season, promos = sched.season_at(t), sched.promotions_at(t)
        n = len(products)
        self.promoted, self.price_factor = [False] * n, [1.0] * n
        self.conv = [p.appeal for p in products]
        self.cat_table, self.prod_table, self.promo_list = {}, {}, {}
        self.landing = []  # (merchant, category) pages a promotion banner sends buyers to
        self.live = [p.available_ts <= t for p in products]
        for m in self.merchants:
            cats, cw = [], []
            for c in m.categories:
                members = [p for p in m.products if products[p].category == c and self.live[p]]
                if not members:
                    continue
                applying = [(k, pr) for k, pr in enumerate(sched.promotions) if pr in promos
                            and pr.category in (None, c) and pr.merchant in (None, m.index)]
                weights, promoted = [], []
                for p in members:
                    w = products[p].popularity * season.tag_boost.get(products[p].season, 1.0)
                    for k, pr in applying:
                        if (p * 7919 + k * 104_729) % 100 < 35:
                            w *= pr.view_boost
                            self.promoted[p] = True
                            self.conv[p] *= pr.conv_boost
                            self.price_factor[p] *= 1.0 - pr.discount
                    if self.promoted[p]:
                        promoted.append(p)
                    weights.append(w)
                self.prod_table[(m.index, c)] = (members, _cum(weights))
                self.promo_list[(m.index, c)] = promoted
                if promoted:
                    self.landing.append((m.index, c))
                cats.append(c)
                cw.append((1.0 if c in m.initial_categories else 0.8) * season.category_weight.get(c, 1.0)
                          * (2.5 if applying else 1.0))
            self.cat_table[m.index] = (cats, _cum(cw))
        self.next_change = next((c for c in self._changes if c > t), INF)

    def _queue_reorder(self, b):
        self.reorder_no += 1
        heappush(self.reorders, (self.book.next_due(b), self.reorder_no, b))

    def _ring_due(self):
        self.next_ring = min((g.next_burst for g in self.rings), default=INF)

    # -- daily housekeeping ----------------------------------------------------------------------
    def new_day(self, t, first=False):
        if t >= self.next_change:
            self._apply_regime(t)
        if first:
            return
        for b in self.book.turnover(t, 0.004):
            self._queue_reorder(b)
        for p in self.inv.end_of_day(self.live):
            self._reorder_stock(p, t)

    # -- one new activity at time t --------------------------------------------------------------
    def start_activity(self, t):
        if t >= self.next_change:
            self._apply_regime(t)
        if t >= self.next_ring:
            ring = min(self.rings, key=lambda g: g.next_burst)
            if ring.active(t):
                self._burst(ring, t)
            else:  # bursts are planned from the ring's start on, so inactive means it has ended
                ring.next_burst = INF
            self._ring_due()
            return
        if self.reorders[0][0] <= t:
            self._reorder(t)
            return
        u = self.r()
        if u < 0.06:
            ms = self.merchants[int(self.r() * len(self.merchants))]
            live = [p for p in ms.products if self.live[p]]
            self._listing(t, live[int(self.r() * len(live))])
        elif u < 0.085:
            self._quote_ticket(t)
        elif u < 0.17:
            p = int(self.r() * len(self.products))
            if self.live[p]:
                self._inventory(t, p, False)
            else:
                self._browse(t)
        else:
            self._browse(t)

    def _account_fields(self, b, body):
        r = self.r
        a = b.accounts[int(r() * len(b.accounts))]
        body["account_id"] = a.account_id
        body["device_id"] = a.devices[0] if len(a.devices) == 1 or r() < 0.7 else a.devices[1]
        body["ip"] = a.ip
        body["channel"] = a.channel if r() < 0.8 or a.channel == "api" else _CHANNELS[int(r() * 3)]
        body["account_created_ts"] = round(a.created_ts, 3)
        body["country"] = a.country

    def _order(self, due, merchant, b_id, lines, fraud, ring_id, session_id, acct_src):
        """Schedule an order; ``acct_src`` fills account/device/ip/channel fields into the body."""
        products, pf = self.products, self.price_factor
        self.order_no += 1
        out, total = [], 0.0
        for p, q in lines:
            prod = products[p]
            packs = q / prod.pack
            tier = 0.9 if packs >= 50 else 0.95 if packs >= 10 else 1.0
            price = round(prod.price * pf[p] * (tier if not fraud else 1.0), 2)
            total += price * q
            out.append({"product_id": prod.product_id, "quantity": q, "unit_price": price, "category": prod.category})
        body = {"type": "order", "event_id": None, "merchant_id": merchant.merchant_id, "ts": None,
                "order_id": f"O{self.order_no:09d}", "buyer_id": b_id, "lines": out, "currency": "CNY"}
        acct_src(body)
        if session_id:
            body["session_id"] = session_id
        title = products[lines[0][0]].title
        self._push(due, body, {"fraud": fraud, "ring_id": ring_id}, self._on_order,
                   (merchant.index, lines, total, fraud, title))

    # -- activities ------------------------------------------------------------------------------
    def _browse(self, t, b=None, m=None, sid=None, n_views=None):
        r, products, heap, stock = self.r, self.products, self.heap, self.inv.stock
        landing = None
        if b is None:
            b = self.book.pick(r())
            mc = b.merchant_cum
            m = b.merchants[bisect_right(mc, r() * mc[-1])] if len(mc) > 1 else b.merchants[0]
            if self.landing and r() < 0.3:  # a promotion banner takes the buyer to promoted products
                landing = self.landing[int(r() * len(self.landing))]
        merchant = self.merchants[m]
        mid, bid = merchant.merchant_id, b.buyer_id
        if sid is None:
            self.session_no += 1
            sid = f"S{self.session_no:09d}"
        cats, ccum = self.cat_table[m]
        fav = b.fav[m]
        staples = [s.product for s in b.staples]
        cat = fav if r() < 0.45 else cats[bisect_right(ccum, r() * ccum[-1])]
        if landing:
            m, cat = landing
            merchant = self.merchants[m]
            mid = merchant.merchant_id
            cats, ccum = self.cat_table[m]
            fav = b.fav.get(m, cat)
        conv, seq = self.conv, self.seq
        hour = (t - self.cfg.start_ts) % DAY / HOUR
        # buyers at work buy; evening and night browsing mostly does not
        rate = self.cfg.browse_cart_rate * b.intent * (1.0 if 8.0 <= hour < 18.0 else 0.45)
        carted, tt = [], t
        for k in range(n_views or _VIEW_COUNTS[int(r() * 12)]):
            if k and r() < 0.3:
                cat = cats[bisect_right(ccum, r() * ccum[-1])]
            prods, pcum = self.prod_table[(m, cat)]
            p = prods[bisect_right(pcum, r() * pcum[-1])]
            pid, pcat = products[p].product_id, products[p].category
            position = -1
            if r() < _CLICK_RATE:
                position = int(r() * r() * 40)
                seq += 1
                heappush(heap, (tt, seq, {"type": "click", "event_id": None, "merchant_id": mid, "ts": None,
                                          "buyer_id": bid, "product_id": pid, "session_id": sid, "category": pcat,
                                          "position": position}, None, None, None))
                tt += 1.0 + 6.0 * r()
            seq += 1
            heappush(heap, (tt, seq, {"type": "view", "event_id": None, "merchant_id": mid, "ts": None,
                                      "buyer_id": bid, "product_id": pid, "session_id": sid, "category": pcat},
                            None, None, None))
            boost = conv[p] * (3.0 if p in staples else 1.0) * (1.3 if pcat == fav else 1.0)
            if position >= 0:  # top of the list: what search ranked best for this buyer
                boost *= 1.6 if position < 3 else 1.0 if position < 10 else 0.6
            if stock[p] > 0 and r() < rate * boost and all(p != c for c, _ in carted):
                tt += 15.0 + 60.0 * r()
                q = self._legit_qty(b, p, t)
                seq += 1
                heappush(heap, (tt, seq, {"type": "add_to_cart", "event_id": None, "merchant_id": mid, "ts": None,
                                          "buyer_id": bid, "product_id": pid, "quantity": q, "session_id": sid},
                                None, None, None))
                carted.append((p, q))
            tt += 10.0 + 80.0 * r()
        self.seq = seq
        if carted and r() < _CHECKOUT_RATE:
            self._order(tt + 20.0 + 240.0 * r(), merchant, bid, carted, False, None, sid,
                        lambda body: self._account_fields(b, body))

    def _legit_qty(self, b, p, t=0.0):
        r, pack = self.r, self.products[p].pack
        if r() < (0.5 if t < b.new_until else 0.06):  # samples, trials, top-ups: small is not always fake
            return 1 + int(r() * 3)
        return pack * max(1, int(b.size * (1.0 + 4.0 * r() * r()) + 0.5))

    def _reorder(self, t):
        due, _, b = heappop(self.reorders)
        book, products, r = self.book, self.products, self.r
        if book.buyers[b.index] is not b or not b.staples:
            return  # replaced by a new company since
        first = min(b.staples, key=lambda s: s.due)
        m = products[first.product].merchant
        lines, stock = [], self.inv.stock
        for s in b.staples:
            if s.due > t + 12 * HOUR or products[s.product].merchant != m:
                continue
            p = s.product
            alts = self.promo_list.get((m, products[p].category))
            if alts and not self.promoted[p] and r() < 0.35:  # a promotion lures the buyer to a substitute
                alt = alts[int(r() * len(alts))]
                if r() < 0.5:
                    s.product = alt  # ... and it sticks: the staple changes for good
                p = alt
            if stock[p] <= 0 or not self.live[p]:
                s.due = t + DAY * (1.0 + r())
                continue
            q = max(products[p].pack, int(s.qty * (0.8 + 0.45 * r()) / products[p].pack + 0.5) * products[p].pack)
            lines.append((p, q))
            s.due = business_time(self.rng, t + s.cycle_days * DAY * (0.85 + 0.35 * r()), book.start_ts, night=b.erp)
        self._queue_reorder(b)
        if not lines:
            return
        merchant = self.merchants[m]
        fill = lambda body: self._account_fields(b, body)  # noqa: E731
        if b.erp and r() < 0.85:  # the ERP places the order itself: no browsing at all
            self._order(t, merchant, b.buyer_id, lines, False, None, None, fill)
            return
        self.session_no += 1
        sid = f"S{self.session_no:09d}"
        mid, bid, tt, seq, heap = merchant.merchant_id, b.buyer_id, t, self.seq, self.heap
        quick = r() < 0.6  # "buy again" from the order history skips the cart
        for p, q in lines:
            pid = products[p].product_id
            if tt == t or r() < 0.7:
                seq += 1
                heappush(heap, (tt, seq, {"type": "view", "event_id": None, "merchant_id": mid, "ts": None,
                                          "buyer_id": bid, "product_id": pid, "session_id": sid,
                                          "category": products[p].category}, None, None, None))
                tt += 10.0 + 50.0 * r()
            if not quick:
                seq += 1
                heappush(heap, (tt, seq, {"type": "add_to_cart", "event_id": None, "merchant_id": mid, "ts": None,
                                          "buyer_id": bid, "product_id": pid, "quantity": q, "session_id": sid},
                                None, None, None))
                tt += 5.0 + 30.0 * r()
        self.seq = seq
        if r() < 0.35:  # a look around before checking out
            self._browse(tt, b, m, sid, 1 + int(r() * 3))
            tt += 120.0
        if r() < 0.94:
            self._order(tt + 30.0 + 200.0 * r(), merchant, bid, lines, False, None, sid, fill)

    def _burst(self, ring, t):
        products, merchant = self.products, self.merchants[ring.merchant]
        mid = merchant.merchant_id
        for fo in ring.burst(t):
            tt = t + fo.delay
            self.session_no += 1
            sid = f"S{self.session_no:09d}"
            acc = fo.account
            if fo.view_first:
                p = fo.lines[0][0]
                self._push(tt, {"type": "view", "event_id": None, "merchant_id": mid, "ts": None,
                                "buyer_id": acc.buyer_id, "product_id": products[p].product_id, "session_id": sid,
                                "category": products[p].category})
                tt += 8.0 + 40.0 * self.r()

            def fill(body, fo=fo, acc=acc):
                body.update(account_id=acc.account_id, device_id=fo.device, ip=fo.ip, channel=fo.channel,
                            account_created_ts=round(acc.created_ts, 3), country="CN")

            self._order(tt, merchant, acc.buyer_id, fo.lines, True, ring.ring_id, sid, fill)

    def _listing(self, due, p):
        prod = self.products[p]
        body, truth = make_listing(self.rng, prod, self.cfg.listing_violation_rate,
                                   self.merchants[prod.merchant].merchant_id)
        self._push(due, body, truth, self._on_listing, None)

    def _on_listing(self, body, truth, t, arg):
        for code in truth["violations"]:
            self.violations[code] += 1

    def _quote_ticket(self, t):
        r, b = self.r, self.book.pick(self.r())
        m = b.merchants[int(r() * len(b.merchants))]
        live = [p for p in self.merchants[m].products if self.live[p]]
        p = self.products[live[int(r() * len(live))]]
        intent = TICKET_INTENTS[3] if r() < 0.6 else TICKET_INTENTS[4]
        self._ticket(t, self.merchants[m].merchant_id, b.buyer_id, intent, None, p.title,
                     p.pack * (20 + int(r() * 30)) * max(1, int(b.size)))
