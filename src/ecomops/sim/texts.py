"""Review and customer-service texts, in Chinese and English, by rating and by intent.

Fake-order rings write short, generic, over-enthusiastic 5-star reviews; real buyers write
about delivery, packaging, invoices and quality, with ratings spread from 1 to 5. Tickets carry
one of five intents and usually mention the order.

>>> import random
>>> from ecomops.sim.texts import review_text, ticket_text, TICKET_INTENTS
>>> rng = random.Random(0)
>>> isinstance(review_text(rng, 5, fake=True), str)
True
>>> msg = ticket_text(rng, "where_is_my_order", "O123", "A4 copy paper", 50)
>>> "O123" in msg
True
>>> TICKET_INTENTS[0]
'where_is_my_order'
"""

from __future__ import annotations

import random

_REVIEWS = {
    1: ("货不对板，和描述差别很大，申请退货。", "Wrong items delivered, half the cartons damaged.",
        "质量太差了，不会再买。", "Arrived two weeks late and support never answered."),
    2: ("包装破损，部分产品有划痕。", "Quality is below what we ordered before.", "发货慢，催了好几次。",
        "Several units faulty, waiting for replacement."),
    3: ("一般，价格还可以，物流有点慢。", "OK for the price, packaging could be better.", "质量中规中矩，凑合用。",
        "Average. Invoice took a while."),
    4: ("整体不错，发票开得很快，下次继续合作。", "Good quality, delivered on time, will reorder.",
        "包装结实，数量齐全。", "Solid product, a few minor scratches.", "性价比可以，物流快。"),
    5: ("质量很好，和样品一致，长期合作。", "Excellent supplier, fast delivery and correct invoice.",
        "第三次采购了，品质稳定。", "Great value for bulk orders, staff happy with it.", "发货快，包装专业，推荐。"),
}
_FAKE_REVIEWS = (
    "很好很好，五星好评！", "好评好评好评", "非常满意，下次还来！！", "good good good", "质量非常好 物流快 会回购",
    "Very good product, 5 stars!!!", "宝贝收到了，很喜欢，好评", "nice nice, recommend", "太棒了，超级喜欢",
    "东西不错，卖家服务态度很好，好评！",
)
TICKET_INTENTS = ("where_is_my_order", "refund_request", "invoice_request", "bulk_quote", "product_inquiry")
_TICKETS = {
    "where_is_my_order": (
        "订单{order}什么时候发货？已经等了三天了。", "Where is my order {order}? It has not shipped yet.",
        "请帮忙查一下{order}的物流，客户在催。", "Hi, can you share the tracking number for {order}?",
        "{order} 还没收到，麻烦尽快处理。",
    ),
    "refund_request": (
        "订单{order}的{title}有质量问题，申请退款。", "Please refund order {order}, items arrived damaged.",
        "{order}少发了货，要求退还差价。", "We want to return {order} ({title}) for a refund.",
        "货不对板，{order}申请退货退款。",
    ),
    "invoice_request": (
        "请为订单{order}开具增值税专用发票，抬头已更新。", "Please issue a VAT invoice for order {order}.",
        "{order}的发票还没收到，财务在等。", "Could you resend the invoice for {order} to our finance team?",
        "订单{order}需要开票，税号见附件。",
    ),
    "bulk_quote": (
        "我们需要采购{qty}件{title}，能给个批发价吗？", "Requesting a bulk quote: {qty} units of {title}.",
        "长期合作，每月{qty}件{title}，请报价。", "What is your lowest tier price for {qty} x {title}?",
        "Need {qty} pcs of {title} monthly, please quote with delivery terms.",
    ),
    "product_inquiry": (
        "{title}有现货吗？交期多久？", "Is {title} in stock? What is the lead time?",
        "{title}支持定制logo吗？", "Does {title} come with a warranty and certificates?",
        "请问{title}的起订量是多少？",
    ),
}


def review_text(rng: random.Random, rating: int, fake: bool) -> str:
    if fake:
        return rng.choice(_FAKE_REVIEWS)
    return rng.choice(_REVIEWS[rating])


def ticket_text(rng: random.Random, intent: str, order_id: str, title: str, qty: int) -> str:
    return rng.choice(_TICKETS[intent]).format(order=order_id, title=title, qty=qty)
