"""What the marketplace sells: categories, their product templates, prices and listing rules.

Every product title is built from a template of brand, spec and bilingual noun, the way B2B
sellers write them ("Anker 20000mAh 移动电源 power bank PD 22.5W"). None of the template text
contains a prohibited absolute claim, so any claim in a listing is one the simulator injected
on purpose (and recorded in the truth).

>>> from ecomops.sim.categories import CATEGORIES, CATEGORY_NAMES, PROHIBITED_TOKENS
>>> CATEGORY_NAMES[:3]
('clothing', 'electronics', 'food')
>>> spec = CATEGORIES["electronics"]
>>> spec.price_min < spec.price_max and any(item.needs_ccc for item in spec.items)
True
>>> any(tok.lower() in " ".join(i.en + i.zh for c in CATEGORIES.values() for i in c.items).lower()
...     for tok in PROHIBITED_TOKENS)
False
"""

from __future__ import annotations

from dataclasses import dataclass

# Absolute claims Chinese advertising law (广告法) forbids; listings containing any are violations.
PROHIBITED_TOKENS = ("最", "第一", "国家级", "顶级", "best", "no.1", "number one")
PROHIBITED_PHRASES = (
    "全网最低价", "行业第一", "国家级品质", "顶级工艺", "最好用的", "销量第一",
    "best quality", "No.1 supplier", "number one choice", "the best price", "顶级 best seller",
)


@dataclass(frozen=True)
class Item:
    """One kind of product; many products (brand x spec variants) are drawn from it."""

    zh: str
    en: str
    price_lo: float
    price_hi: float
    specs: tuple[str, ...]
    season: str = ""  # "", "winter", "summer", "festival": demand moves with the season
    needs_ccc: bool = False  # China Compulsory Certification required to sell it
    # CCC added after simulator streams were published: whether a listing of it lacks "CCC" is
    # drawn apart from the market's random stream (see ecomops.sim.listings), so that published
    # streams and results stay as they were
    ccc_added_later: bool = False


@dataclass(frozen=True)
class Category:
    name: str
    zh: str
    brands: tuple[str, ...]
    items: tuple[Item, ...]
    required_attributes: tuple[str, ...]
    pack_sizes: tuple[int, ...]  # B2B order multiples
    optional_certs: tuple[str, ...] = ()

    @property
    def price_min(self) -> float:
        return min(i.price_lo for i in self.items)

    @property
    def price_max(self) -> float:
        return max(i.price_hi for i in self.items)


def _c(name, zh, brands, items, attrs, packs, certs=()):
    return Category(name, zh, tuple(brands), tuple(items), tuple(attrs), tuple(packs), tuple(certs))


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        _c("clothing", "服装", ("优衣库", "Bosideng 波司登", "Li-Ning 李宁", "JEANSWEST", "海澜之家", "Semir 森马"), (
            Item("羽绒服", "down jacket", 180, 600, ("90%白鸭绒", "加厚", "连帽"), "winter"),
            Item("保暖内衣套装", "thermal underwear set", 45, 160, ("德绒", "加绒"), "winter"),
            Item("工装裤", "cargo work pants", 40, 150, ("耐磨", "多口袋")),
            Item("纯棉T恤", "cotton T-shirt", 15, 70, ("220g", "圆领", "短袖"), "summer"),
            Item("Polo衫", "polo shirt", 30, 120, ("珠地棉", "可定制logo")),
            Item("防晒衣", "UV protection jacket", 50, 180, ("UPF50+", "冰丝"), "summer"),
            Item("工作服", "workwear uniform", 60, 260, ("涤棉", "反光条")),
        ), ("material", "size_range", "color"), (10, 20, 50), ("OEKO-TEX",)),
        _c("electronics", "数码电子", ("Anker 安克", "Xiaomi 小米", "Huawei 华为", "UGREEN 绿联", "Baseus 倍思", "Lenovo 联想"), (
            Item("移动电源", "power bank", 79, 299, ("20000mAh PD 22.5W", "10000mAh 快充", "30000mAh 65W"), needs_ccc=True),
            Item("充电器", "charger", 29, 159, ("65W GaN 氮化镓", "20W PD", "100W 多口"), needs_ccc=True),
            Item("电源适配器", "power adapter", 25, 120, ("12V 2A", "19V 3.42A", "5V 3A"), needs_ccc=True),
            Item("智能手机", "smartphone", 899, 6999, ("8+256GB 5G", "12+512GB", "6+128GB"),
                 needs_ccc=True, ccc_added_later=True),
            Item("笔记本电脑", "laptop", 2999, 8999, ("14英寸 i5 16G", "15.6英寸 R7 32G", "13.3英寸 轻薄"),
                 needs_ccc=True, ccc_added_later=True),
            Item("蓝牙耳机", "bluetooth earbuds", 59, 599, ("主动降噪", "TWS", "运动款")),
            Item("数据线", "USB-C cable", 10, 69, ("1m 60W", "2m 100W", "编织")),
            Item("USB集线器", "USB hub", 39, 299, ("7合1 HDMI", "4口 USB3.0")),
        ), ("model", "warranty_months", "color"), (5, 10, 20), ("CE", "RoHS", "FCC")),
        _c("food", "食品", ("三只松鼠", "良品铺子", "金龙鱼", "农夫山泉", "伊利", "Nestlé 雀巢"), (
            Item("坚果礼盒", "mixed nuts gift box", 60, 260, ("1.5kg", "年货款", "每日坚果30包"), "festival"),
            Item("矿泉水", "mineral water", 3, 60, ("550ml*24瓶", "5L*4桶")),
            Item("食用油", "cooking oil", 40, 220, ("5L", "1.8L*6")),
            Item("速溶咖啡", "instant coffee", 35, 180, ("1.8kg 100条", "无糖")),
            Item("牛奶", "UHT milk", 45, 120, ("250ml*24盒", "全脂")),
            Item("零食大礼包", "snack gift pack", 50, 300, ("年货 礼盒装", "企业福利"), "festival"),
            Item("冰镇饮料", "iced soft drinks", 30, 110, ("330ml*24罐", "无糖"), "summer"),
        ), ("shelf_life_days", "origin", "net_weight"), (6, 12, 24), ("SC", "HACCP")),
        _c("office_supplies", "办公用品", ("得力 Deli", "晨光 M&G", "齐心 Comix", "Double A", "3M"), (
            Item("A4复印纸", "A4 copy paper", 18, 45, ("70g 500张/包", "80g 5包/箱")),
            Item("中性笔", "gel pen", 1, 8, ("0.5mm 黑色", "0.38mm 12支装")),
            Item("文件夹", "file folder", 3, 30, ("A4 双夹", "风琴包")),
            Item("订书机", "stapler", 8, 60, ("省力型", "重型 100页")),
            Item("碎纸机", "paper shredder", 180, 800, ("5级保密", "大容量")),
            Item("便利贴", "sticky notes", 2, 20, ("76x76mm", "荧光色")),
        ), ("material", "pack_qty"), (10, 50, 100), ("FSC",)),
        _c("industrial_parts", "工业配件", ("SKF", "NSK", "东明 Dongming", "Schneider 施耐德", "CHINT 正泰", "Festo"), (
            Item("深沟球轴承", "deep groove ball bearing", 3, 260, ("6204-2RS", "6305 ZZ", "6001")),
            Item("不锈钢螺栓", "stainless steel bolt", 0.5, 12, ("M8x40 304", "M12x60 316")),
            Item("交流接触器", "AC contactor", 45, 680, ("CJX2-1810", "LC1D25 220V")),
            Item("气缸", "pneumatic cylinder", 80, 1200, ("SC50x100", "MAL32x50")),
            Item("断路器", "circuit breaker", 20, 900, ("DZ47 C32", "NXB-63 2P")),
            Item("液压油管", "hydraulic hose", 30, 500, ("DN12 1m", "耐高压 35MPa")),
        ), ("material", "spec", "standard"), (10, 50, 100, 500), ("ISO9001", "CE")),
        _c("packaging", "包装材料", ("永丰 Yongfeng", "顺丰包装", "合兴 Hexing", "PackPro"), (
            Item("瓦楞纸箱", "corrugated carton", 0.8, 12, ("5层 特硬", "3层 邮政12号")),
            Item("气泡膜", "bubble wrap", 15, 120, ("50cm x 100m", "加厚")),
            Item("封箱胶带", "packing tape", 1, 8, ("4.5cm x 100m", "透明")),
            Item("快递袋", "courier bag", 0.1, 2, ("28x42cm", "加厚防水")),
            Item("礼品盒", "gift box", 3, 40, ("年货 手提", "烫金"), "festival"),
        ), ("material", "dimensions"), (100, 500, 1000), ("FSC",)),
        _c("home_appliances", "家用电器", ("Midea 美的", "Gree 格力", "Haier 海尔", "Joyoung 九阳", "SUPOR 苏泊尔"), (
            Item("电热水壶", "electric kettle", 60, 260, ("1.7L 304不锈钢", "恒温")),
            Item("空气净化器", "air purifier", 600, 3500, ("除甲醛", "HEPA H13")),
            Item("电风扇", "electric fan", 90, 600, ("落地扇 7叶", "循环扇"), "summer"),
            Item("电暖器", "electric heater", 150, 900, ("油汀 13片", "暖风机"), "winter"),
            Item("微波炉", "microwave oven", 300, 1500, ("20L 转盘", "23L 变频")),
            Item("电饭煲", "rice cooker", 150, 1200, ("4L IH", "5L 智能预约")),
        ), ("power_w", "voltage", "warranty_months"), (1, 2, 5), ("CE", "能效标识")),
        _c("furniture", "办公家具", ("震旦 AURORA", "Sihoo 西昊", "圣奥 Sunon", "HON"), (
            Item("人体工学椅", "ergonomic office chair", 300, 3000, ("网布 腰托", "可躺")),
            Item("办公桌", "office desk", 400, 4500, ("1.4m 钢木", "升降桌")),
            Item("文件柜", "filing cabinet", 300, 2000, ("钢制 四门", "带锁")),
            Item("会议桌", "conference table", 1200, 5000, ("2.4m 板式", "10人位")),
        ), ("material", "dimensions"), (1, 2, 5), ("GREENGUARD",)),
    )
}
CATEGORY_NAMES: tuple[str, ...] = tuple(CATEGORIES)
