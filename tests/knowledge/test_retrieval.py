import re

import pytest

from ecomops.knowledge import BM25Index, Document, KnowledgeBase, chunk_text, rrf, tokenize


def test_bm25_exact_keyword_match_ranks_first():
    texts = [
        "Our delivery partners handle parcels across Europe.",
        "Order number lookup: use the tracking page for any parcel.",
        "The SKU XJ-9000 blender has a 1.5 litre jug.",
        "Blender care: wash the jug by hand.",
    ]
    idx = BM25Index(texts)
    pos, scores = idx.top("xj 9000", 4)
    assert int(pos[0]) == 2 and list(scores) == sorted(scores, reverse=True)
    assert int(idx.top("blender", 4)[0][0]) in (2, 3)
    assert idx.top("nothing matches this", 4)[0].size == 0
    # Okapi: a term in fewer texts weighs more; longer texts are normalised down
    assert idx.scores("xj")[2] > idx.scores("jug")[2]


def test_chinese_query(store, encoder):
    assert tokenize("退货7天") == ["退", "货", "退货", "7", "天"]
    kb = KnowledgeBase(store, "cn", encoder=encoder)
    kb.add_documents([
        Document("returns", "退货政策", "自收货之日起7天内可以无理由退货，请保留发票。"),
        Document("shipping", "配送", "订单在48小时内发货，偏远地区可能需要更长时间。"),
        Document("pay", "付款", "我们支持支付宝和微信支付。"),
    ])
    hits = kb.search("退货 7天")
    assert hits[0].doc_id == "returns" and hits[0].bm25_rank == 1
    kb.add_documents([Document("returns", "退货政策", "自收货之日起14天内可以无理由退货。")])
    hits = kb.search("退货 7天")
    assert hits[0].doc_id == "returns" and hits[0].version == 2 and "14天" in hits[0].text


def test_rrf_hand_built_example():
    bm25 = ["d1", "d2", "d3"]
    dense = ["d3", "d1", "d4"]
    fused = rrf([bm25, dense], k=60)
    scores = dict(fused)
    assert scores["d1"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["d3"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["d2"] == pytest.approx(1 / 62)
    assert scores["d4"] == pytest.approx(1 / 63)
    assert [key for key, _ in fused] == ["d1", "d3", "d2", "d4"]
    # ties: the better single rank wins, then first appearance
    assert [key for key, _ in rrf([["a", "b"], ["b", "a"]])] == ["a", "b"]
    assert [key for key, _ in rrf([["x"], ["y"]])] == ["x", "y"]


def test_search_reports_both_ranks_and_fused_order(store, encoder):
    kb = KnowledgeBase(store, "m1", encoder=encoder)
    kb.add_documents([Document(f"d{i}", f"Doc {i}", t) for i, t in enumerate([
        "Returns are accepted within 14 days of delivery.",
        "Shipping is free above 50 euros.",
        "Invoices are sent by email after payment.",
    ])])
    hits = kb.search("returns within days", k=3)
    assert hits[0].doc_id == "d0" and hits[0].bm25_rank == 1 and hits[0].dense_rank == 1
    assert hits[0].score == pytest.approx(2 / 61)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    bm_only = KnowledgeBase(store, "m1", encoder=None).search("returns within days", k=3)
    assert bm_only[0].doc_id == "d0" and bm_only[0].dense_rank is None


def test_chunking_keeps_all_text_and_respects_size():
    sentences = [f"Sentence number {i} says something about returns and refunds." for i in range(40)]
    text = " ".join(sentences[:20]) + "\n\n" + " ".join(sentences[20:]) + "\n\n" + "这是中文句子。" * 60
    chunks = chunk_text(text, size=300, overlap=60)
    assert len(chunks) > 5 and all(len(c) <= 300 for c in chunks)
    joined = " ".join(chunks)
    assert all(s in joined for s in sentences)
    assert joined.count("这是中文句子。") >= 60
    # with no overlap, chunks tile the text exactly (white space aside)
    tiles = chunk_text(text, size=300, overlap=0)
    assert re.sub(r"\s", "", "".join(tiles)) == re.sub(r"\s", "", text)
    assert any(a.split()[-1] in b for a, b in zip(chunks, chunks[1:]))  # some overlap
    assert chunk_text("short") == ["short"] and chunk_text("   ") == []
    assert all(len(c) <= 50 for c in chunk_text("x" * 500, size=50, overlap=10))


def test_long_document_best_chunk_cited_once(store, encoder):
    filler = " ".join(f"Paragraph about product care number {i}." for i in range(60))
    text = filler + "\n\nThe warranty covers motor failure for three years." + "\n\n" + filler
    kb = KnowledgeBase(store, "m1", encoder=encoder)
    kb.add_documents([Document("manual", "Blender manual", text)])
    hits = kb.search("warranty motor failure", k=5)
    assert len(hits) == 1 and "warranty covers motor failure" in hits[0].text and hits[0].chunk_no > 0


def test_real_default_encoder_finds_a_paraphrase(store):
    kb = KnowledgeBase(store, "m1", encoder="default")
    assert kb.dense, kb.dense_off_reason  # the test install has torch and the bundled MiniLM
    kb.add_documents([
        Document("refunds", "Refunds", "Customers receive their money back within five business days."),
        Document("shipping", "Delivery", "Parcels leave our warehouse by courier every afternoon."),
        Document("payment", "Payment", "Visa, Mastercard and PayPal are accepted at checkout."),
    ])
    query = "reimbursement timeline"
    assert not set(tokenize(query)) & {t for d in kb.documents() for t in tokenize(d.title + " " + d.text)}
    hits = kb.search(query, k=3)
    assert hits[0].doc_id == "refunds" and hits[0].dense_rank == 1 and hits[0].bm25_rank is None
