"""Each reason code fires on a crafted positive and stays quiet on close negatives."""

from __future__ import annotations

import pytest

ELEC = {"model": "X-1", "warranty_months": "12", "color": "black"}


def codes(auditor, d):
    return {r.code for r in auditor.audit(d).reasons}


def test_clean_listing_passes(auditor, listing):
    v = auditor.audit(listing())
    assert v.verdict == "pass" and v.reasons == []


@pytest.mark.parametrize("text", [
    "全网最低价", "行业第一", "国家级品质", "顶级工艺", "最好用的", "销量第一", "best quality", "Best seller!",
    "No.1 supplier", "No. 1 supplier", "NO.1", "Ｎｏ．１ 供应商", "number one choice", "Number One", "#1 brand",
    "the best price", "顶级 best seller", "世界级工艺", "最佳选择",
])
def test_prohibited_claim_positive(auditor, listing, text):
    for field in ("title", "description"):
        d = listing(**{field: f"{listing()[field]} {text}"})
        v = auditor.audit(d)
        assert "prohibited_claim" in {r.code for r in v.reasons}, (field, text)
        assert v.verdict == "reject"


@pytest.mark.parametrize("text", [
    "bestow", "Bestway 百适乐", "最小起订量 50 件", "最低起订量 100", "最大承重 150kg", "第一次合作有优惠",
    "第一时间发货", "No.12 仓库发货", "model no.15", "room #12", "one number", "Noble 1 series",
    "ships within 48h, tiered pricing", "量大从优", "支持开具增值税专用发票",
])
def test_prohibited_claim_negative(auditor, listing, text):
    d = listing(description=f"{listing()['description']} {text}")
    assert "prohibited_claim" not in codes(auditor, d), text


def test_ccc_required_for_listed_types(auditor, listing):
    for title in ("Anker 安克 移动电源 power bank 20000mAh", "UGREEN 绿联 充电器 charger 65W GaN",
                  "Baseus 电源适配器 power adapter 12V 2A", "Huawei 华为 智能手机 smartphone 8+256GB",
                  "Lenovo 联想 笔记本电脑 laptop 14英寸"):
        d = listing(title=title, category="electronics", attributes=ELEC, price=199.0)
        v = auditor.audit(d)
        assert [r.code for r in v.reasons] == ["missing_certification"], title
        assert v.verdict == "reject" and "强制性产品认证" in v.reasons[0].citation
        for cert in (["CCC"], ["3C"], ["ccc", "CE"], ["CCC认证"]):
            assert auditor.audit(dict(d, certifications=cert)).verdict == "pass", (title, cert)


def test_ccc_not_required_for_other_types(auditor, listing):
    for title in ("Xiaomi 蓝牙耳机 bluetooth earbuds TWS", "UGREEN 数据线 USB-C cable 1m 60W",
                  "Baseus USB集线器 USB hub 7合1", "Anker 手机壳 phone case 防摔", "earphone 耳机"):
        d = listing(title=title, category="electronics", attributes=ELEC, price=59.0)
        assert "missing_certification" not in codes(auditor, d), title


def test_missing_attribute(auditor, listing):
    v = auditor.audit(listing(attributes={"material": "ABS"}))
    assert [r.code for r in v.reasons] == ["missing_attribute"] and "pack_qty" in v.reasons[0].message
    assert v.verdict == "review"
    assert "missing_attribute" in codes(auditor, listing(attributes={"material": "ABS", "pack_qty": "  "}))
    # extra attributes are fine; an unknown category has no requirements
    assert auditor.audit(listing(attributes={"material": "ABS", "pack_qty": "10", "x": "y"})).verdict == "pass"


def test_wrong_category(auditor, listing):
    d = listing(title="Anker 移动电源 power bank 20000mAh", category="food", attributes=ELEC,
                certifications=["CCC"], price=150.0)
    v = auditor.audit(d)
    # one mistake, one reason: attributes and price are judged against electronics
    assert [r.code for r in v.reasons] == ["wrong_category"] and v.verdict == "review"
    assert "electronics" in v.reasons[0].message


def test_wrong_category_longest_match(auditor, listing):
    # "mixed nuts gift box" is food even though packaging sells "gift box"
    food = {"shelf_life_days": "180", "origin": "中国", "net_weight": "1.5kg"}
    d = listing(title="三只松鼠 坚果礼盒 mixed nuts gift box 1.5kg", category="food", attributes=food, price=120.0)
    assert auditor.audit(d).verdict == "pass"
    d = listing(title="PackPro 礼品盒 gift box 烫金", category="packaging",
                attributes={"material": "PP", "dimensions": "30x20x15cm"}, price=10.0)
    assert auditor.audit(d).verdict == "pass"
    # a title naming no known product type is not judged
    assert "wrong_category" not in codes(auditor, listing(title="Deli 得力 新品 省力型"))


def test_price_band(auditor, listing):
    assert "price_anomaly" in codes(auditor, listing(price=0.1))   # below 1 * 0.5
    assert "price_anomaly" in codes(auditor, listing(price=5000.0))  # above 800 * 2
    assert "price_anomaly" in codes(auditor, listing(price=0))
    assert "price_anomaly" not in codes(auditor, listing(price=600.0))


def test_price_learned_after_warmup(pack_data, listing):
    from ecomops.ops.audit import Auditor, parse_pack

    pack_data["rules"]["price_anomaly"].pop("bands")
    a = Auditor(parse_pack(pack_data))
    # before min_count prices are seen, nothing is flagged
    assert a.audit(listing(listing_id="early", price=400.0)).verdict == "pass"
    for i in range(60):
        assert a.audit(listing(listing_id=f"w{i}", price=20.0 + (i % 10))).verdict in ("pass", "review")
    v = a.audit(listing(listing_id="hi", price=400.0))
    assert [r.code for r in v.reasons] == ["price_anomaly"] and "robust z" in v.reasons[0].message
    assert a.audit(listing(listing_id="ok", price=26.0)).verdict == "pass"
    assert a.audit(listing(listing_id="lo", price=1.0)).verdict == "review"


def test_verdict_logic(auditor, listing):
    both = listing(title="Deli 订书机 stapler 行业第一", attributes={"material": "ABS"})
    v = auditor.audit(both)
    assert v.verdict == "reject" and [r.code for r in v.reasons] == ["prohibited_claim", "missing_attribute"]
    assert auditor.audit(listing(attributes={})).verdict == "review"
    out = v.to_dict()
    assert set(out) == {"listing_id", "verdict", "reasons"}
    assert all(set(r) == {"code", "message", "citation"} and r["citation"] for r in out["reasons"])


def test_invalid_listing_raises(auditor, listing):
    from ecomops.core.errors import ValidationError

    for bad, field in ((listing(price="12"), "price"), (listing(price=-1), "price"), (listing(title=""), "title"),
                       (listing(attributes=[]), "attributes"), (listing(certifications="CCC"), "certifications"),
                       ({"title": "x"}, "listing_id"), ([], "object")):
        with pytest.raises(ValidationError, match=field):
            auditor.audit(bad)
