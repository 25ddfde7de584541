"""What happens after an order is placed: stock, payment or cancel, refunds, reviews, tickets, verdicts.

Everything is scheduled when the order is emitted (its ``event_id`` is known then, so the risk
team's ``feedback`` can point at it). Delays are bounded (the longest, restocks aside, is a
week), so the simulator's pending heap stays bounded by the event rate times that window.

Fake orders: paid within minutes by wallet; the risk team confirms ``fraud_feedback_rate`` of
them 1-48 h later (``verdict="fake_order"``, ``label=1.0``); 85% get a 5-star (rarely 4-star)
review within 2-40 h; half are refunded 1-5 days later. Legit orders: a few are cancelled
(no payment then), the rest paid by transfer, wallet, card or credit terms; a few refunds,
reviews with real rating spread, "where is my order" and invoice tickets, and a small random
sample confirmed ``verdict="legit"``, ``label=0.0``.

>>> from ecomops.sim.followups import PAYMENT_METHODS
>>> sorted(PAYMENT_METHODS)[:2]
['alipay', 'bank_transfer']
"""

from __future__ import annotations

from heapq import heappush

from .texts import review_text, ticket_text

HOUR = 3600.0
DAY = 86400.0
PAYMENT_METHODS = {  # method: (share of legit payments, min delay s, max delay s)
    "bank_transfer": (0.34, 2 * HOUR, 36 * HOUR),
    "alipay": (0.24, 60.0, 1800.0),
    "wechat_pay": (0.10, 60.0, 1800.0),
    "credit_terms": (0.26, 1 * HOUR, 48 * HOUR),
    "corporate_card": (0.06, 60.0, 3 * HOUR),
}
_METHOD_CUM = []
_acc = 0.0
for _name, (_share, _lo, _hi) in PAYMENT_METHODS.items():
    _acc += _share
    _METHOD_CUM.append((_acc, _name, _lo, _hi))
_RATING_CUM = ((0.04, 1), (0.09, 2), (0.20, 3), (0.50, 4), (1.01, 5))
_REFUND_REASONS = ("damaged", "wrong_item", "quality", "buyer_request", "late_delivery")
_CANCEL_REASONS = ("duplicate_order", "price_changed", "buyer_request", "out_of_stock", "budget")


class FollowUps:
    """Mixin for :class:`ecomops.sim.market.Market`: hooks run when an order is emitted."""

    def _push(self, due, body, truth=None, hook=None, arg=None):
        self.seq += 1
        heappush(self.heap, (due, self.seq, body, truth, hook, arg))

    def _on_order(self, body, truth, t, arg):
        merchant, lines, total, fraud, title = arg
        mid, oid, eid, bid = body["merchant_id"], body["order_id"], body["event_id"], body["buyer_id"]
        r, cfg, counts, push = self.r, self.cfg, self.counts, self._push
        self._deplete(lines, t, mid)
        amount = round(total, 2)
        first = lines[0][0]
        pid = self.products[first].product_id
        if fraud:
            counts["fraud_orders"] += 1
            push(t + 20.0 + 400.0 * r(), {"type": "payment", "event_id": None, "merchant_id": mid, "ts": None,
                                          "order_id": oid, "amount": amount,
                                          "method": "alipay" if r() < 0.6 else "wechat_pay"})
            if r() < cfg.fraud_feedback_rate:
                self._feedback(t + HOUR * (1.0 + 47.0 * r()), mid, eid, True)
            if r() < 0.85:
                rating = 5 if r() < 0.93 else 4
                push(t + HOUR * (2.0 + 38.0 * r()), self._review(mid, pid, bid, oid, rating, True), {"fake": True})
            if r() < 0.5:
                push(t + DAY * (1.0 + 4.0 * r()), {"type": "refund", "event_id": None, "merchant_id": mid, "ts": None,
                                                   "order_id": oid, "amount": amount,
                                                   "reason": "buyer_request" if r() < 0.8 else "quality"})
            return
        counts["legit_orders"] += 1
        if r() < cfg.legit_feedback_rate:
            self._feedback(t + HOUR * (1.0 + 47.0 * r()), mid, eid, False)
        if r() < cfg.cancel_rate:
            push(t + 300.0 + 10_000.0 * r(), {"type": "cancel", "event_id": None, "merchant_id": mid, "ts": None,
                                              "order_id": oid, "reason": _CANCEL_REASONS[int(r() * 5)]})
            return
        u = r()
        for cum, method, lo, hi in _METHOD_CUM:
            if u < cum:
                break
        paid = t + lo + (hi - lo) * r()
        if method != "credit_terms":  # credit terms settle on the monthly statement, outside the stream
            push(paid, {"type": "payment", "event_id": None, "merchant_id": mid, "ts": None,
                        "order_id": oid, "amount": amount, "method": method})
        if r() < cfg.refund_rate:
            when = max(t + DAY * (1.0 + 5.0 * r()), paid + HOUR)  # money goes back only after it came in
            if r() < 0.5:
                self._ticket(when - HOUR * (1.0 + 20.0 * r()), mid, bid, "refund_request", oid, title, 1)
            push(when, {"type": "refund", "event_id": None, "merchant_id": mid, "ts": None, "order_id": oid,
                        "amount": round(amount * (1.0 if r() < 0.6 else 0.2 + 0.6 * r()), 2),
                        "reason": _REFUND_REASONS[int(r() * 5)]})
        if r() < cfg.review_rate:
            u = r()
            for cum, rating in _RATING_CUM:
                if u < cum:
                    break
            push(t + DAY * (1.0 + 6.0 * r()), self._review(mid, pid, bid, oid, rating, False), {"fake": False})
        u = r()
        if u < 0.03:
            self._ticket(t + DAY * (1.0 + 2.0 * r()), mid, bid, "where_is_my_order", oid, title, 1)
        elif u < 0.07:
            self._ticket(t + DAY * (0.5 + 2.5 * r()), mid, bid, "invoice_request", oid, title, 1)

    def _review(self, mid, pid, bid, oid, rating, fake):
        return {"type": "review", "event_id": None, "merchant_id": mid, "ts": None, "product_id": pid,
                "buyer_id": bid, "rating": rating, "text": review_text(self.rng, rating, fake), "order_id": oid}

    def _feedback(self, due, mid, target, fake):
        self._push(due, {"type": "feedback", "event_id": None, "merchant_id": mid, "ts": None, "target_id": target,
                         "model": "risk", "verdict": "fake_order" if fake else "legit",
                         "label": 1.0 if fake else 0.0}, None, self._on_feedback, fake)

    def _on_feedback(self, body, truth, t, fake):
        self.counts["feedback_fake" if fake else "feedback_legit"] += 1

    def _ticket(self, due, mid, bid, intent, oid, title, qty):
        self.ticket_no += 1
        body = {"type": "ticket", "event_id": None, "merchant_id": mid, "ts": None,
                "ticket_id": f"T{self.ticket_no:08d}", "buyer_id": bid,
                "message": ticket_text(self.rng, intent, oid or "", title, qty)}
        if oid:
            body["order_id"] = oid
        self._push(due, body, {"intent": intent})

    # -- stock -------------------------------------------------------------------------------------
    def _deplete(self, lines, t, mid):
        inv = self.inv
        for p, q in lines:
            before = inv.stock[p]
            after = inv.take(p, q)
            if after == 0 and before > 0:
                self.counts["stockouts"] += 1
                self._inventory(t + 1.0 + 120.0 * self.r(), p, False)
            if inv.needs_reorder(p):
                self._reorder_stock(p, t)

    def _reorder_stock(self, p, t):
        inbound, lead = self.inv.place(p)
        self._inventory(t + 600.0 + 7200.0 * self.r(), p, False)  # the merchant records the supplier order
        self._inventory(t + lead * DAY, p, True)

    def _inventory(self, due, p, arrival):
        merchant = self.merchants[self.inv.merchant_of[p]]
        body = {"type": "inventory", "event_id": None, "merchant_id": merchant.merchant_id, "ts": None,
                "product_id": self.inv.product_ids[p], "stock_level": 0, "inbound": 0, "lead_time_days": 0.0,
                "warehouse_id": merchant.warehouse_id}
        self._push(due, body, {"stockout": False}, self._on_inventory, (p, arrival))

    def _on_inventory(self, body, truth, t, arg):
        # filled in at emission time: the snapshot shows the stock as it is then
        p, arrival = arg
        inv = self.inv
        if arrival:
            inv.arrive(p)
        s = inv.stock[p]
        body["stock_level"] = s
        body["inbound"] = inv.inbound[p]
        body["lead_time_days"] = round(inv.lead[p], 2)
        truth["stockout"] = s == 0
