import json

import pytest

from ecomops.core.errors import ConfigError, ValidationError
from ecomops.knowledge import KnowledgeBase, documents_from_event, load_file

FAQ_CSV = (
    "id,question,answer\n"
    "r1,How long do I have to return an item?,You have 14 days from delivery.\n"
    "p1,Which payment methods do you accept?,\"Visa, Mastercard and PayPal.\"\n"
    ',Do you ship to Switzerland?,"Yes, with customs paid by the buyer."\n'
)


def test_qa_csv_one_doc_per_answer_and_readd_makes_v2(store, encoder, write):
    p = write("faq.csv", FAQ_CSV)
    docs = load_file(p)
    assert [(d.doc_id, d.title, d.text, d.kind, d.source) for d in docs] == [
        ("faq:r1", "How long do I have to return an item?", "You have 14 days from delivery.", "faq", "faq.csv"),
        ("faq:p1", "Which payment methods do you accept?", "Visa, Mastercard and PayPal.", "faq", "faq.csv"),
        ("faq:3", "Do you ship to Switzerland?", "Yes, with customs paid by the buyer.", "faq", "faq.csv"),
    ]
    kb = KnowledgeBase(store, "m1", encoder=encoder)
    assert kb.add_file(p) == [("faq:r1", 1), ("faq:p1", 1), ("faq:3", 1)]
    assert kb.add_file(p) == [("faq:r1", 2), ("faq:p1", 2), ("faq:3", 2)]
    assert sorted((d.doc_id, d.version) for d in kb.documents()) == [("faq:3", 2), ("faq:p1", 2), ("faq:r1", 2)]
    hit = kb.search("return an item")[0]  # the question (title) is searchable, the answer is returned
    assert (hit.doc_id, hit.version, hit.title, hit.text) == (
        "faq:r1", 2, "How long do I have to return an item?", "You have 14 days from delivery.")


def test_qa_jsonl_and_text_rows(store, write):
    rows = [{"question": "Where is my order?", "answer": "Track it in your account."},
            {"id": 7, "question": "Can I cancel?", "answer": "Within 1 hour of ordering.", "kind": "policy"}]
    p = write("help.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    docs = load_file(p)
    assert [(d.doc_id, d.title, d.kind) for d in docs] == [
        ("help:1", "Where is my order?", "faq"), ("help:7", "Can I cancel?", "policy")]
    kb = KnowledgeBase(store, "m1", encoder=None)
    assert kb.add_file(p) == [("help:1", 1), ("help:7", 1)]
    assert kb.add_file(p) == [("help:1", 2), ("help:7", 2)]
    t = write("specs.csv", "id,title,text\nlamp,Desk lamp,LED desk lamp 5 W warm white.\n")
    assert [(d.doc_id, d.title, d.kind) for d in load_file(t, kind="product")] == [("specs:lamp", "Desk lamp", "product")]


def test_markdown_and_text_files(write):
    md = write("returns-policy.md", "Intro line\n\n# Return policy\n\nReturns within 14 days.\n")
    (doc,) = load_file(md)
    assert (doc.doc_id, doc.title, doc.source) == ("returns-policy", "Return policy", "returns-policy.md")
    assert "Returns within 14 days." in doc.text
    (txt,) = load_file(write("shipping.txt", "We ship in 2 days.\n"))
    assert (txt.doc_id, txt.title, txt.text) == ("shipping", "shipping", "We ship in 2 days.")


@pytest.mark.parametrize("name,content,where", [
    ("bad.jsonl", '{"question": "a?", "answer": "b"}\n\n{"question": "c?", "answer": \n', "bad.jsonl:3"),
    ("bad2.jsonl", '{"question": "a?", "answer": "b"}\n["not", "an", "object"]\n', "bad2.jsonl:2"),
    ("bad3.jsonl", '{"question": "a?", "answer": "b"}\n{"question": "c?", "answer": ""}\n', "bad3.jsonl:2"),
    ("bad4.jsonl", '{"title": "no text"}\n', "bad4.jsonl:1"),
    ("bad.csv", "question,answer\nq1?,a1\nq2?,\n", "bad.csv:3"),
    ("bad2.csv", "name,body\nx,y\n", "bad2.csv:1"),
    ("bad3.csv", "id,question,answer\n1,q?,a\n1,q2?,a2\n", "bad3.csv:3"),
    ("bad4.csv", "question,answer\nq?,a,extra\n", "bad4.csv:2"),
])
def test_bad_rows_name_file_and_line(write, name, content, where):
    p = write(name, content)
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        load_file(p)


def test_unsupported_missing_and_empty_files(write, tmp_path):
    with pytest.raises(ConfigError, match="unsupported"):
        load_file(write("x.pdf", "%PDF"))
    with pytest.raises(ConfigError, match="no such file"):
        load_file(tmp_path / "nope.md")
    with pytest.raises(ConfigError, match="empty"):
        load_file(write("empty.md", "  \n"))


def test_documents_from_event():
    (d,) = documents_from_event({"doc_id": "r", "title": "Returns", "text": "14 days", "kind": "regulation"})
    assert (d.doc_id, d.title, d.text, d.kind, d.source) == ("r", "Returns", "14 days", "regulation", "event")
    many = documents_from_event({"documents": [{"doc_id": "a", "text": "x"}, {"doc_id": "b", "text": "y"}]})
    assert [d.doc_id for d in many] == ["a", "b"]
    for bad in ({"text": "no id"}, {"doc_id": "a", "text": ""}, {"doc_id": "a", "text": "x", "kind": 3},
                {"documents": []}, "not a dict"):
        with pytest.raises(ValidationError):
            documents_from_event(bad)
