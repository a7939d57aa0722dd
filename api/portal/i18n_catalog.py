"""The data-sharing page's public dataset list (the DCAT-AP catalog's Public datasets) in both
languages; merged into :data:`api.portal.i18n.STRINGS`. The English theme names are the EU
data-theme vocabulary's (``ledger/gateway/metadata.py``)."""

from __future__ import annotations

from ledger.gateway.metadata import THEMES

_THEMES_ZH = {
    "AGRI": "农业、渔业、林业与食品",
    "ECON": "经济与金融",
    "EDUC": "教育、文化与体育",
    "ENER": "能源",
    "ENVI": "环境",
    "GOVE": "政府与公共部门",
    "HEAL": "卫生健康",
    "INTR": "国际事务",
    "JUST": "司法、法律体系与公共安全",
    "REGI": "区域与城市",
    "SOCI": "人口与社会",
    "TECH": "科学技术",
    "TRAN": "交通运输",
}

STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "data.public": "公开数据集",
        "data.public_lead": "公开分级的数据集目录（元数据，不含数据内容）。完整目录采用 DCAT-AP 3 标准：",
        "data.catalog_jsonld": "JSON-LD 格式",
        "data.catalog_ttl": "Turtle 格式",
        "data.ds_title": "数据集",
        "data.publisher": "发布部门",
        "data.theme": "主题",
        "data.updated": "更新时间",
        **{f"theme.{code}": label for code, label in _THEMES_ZH.items()},
    },
    "en": {
        "data.public": "Public datasets",
        "data.public_lead": "The catalog of datasets classified public (metadata, never contents). The full "
                            "catalog in DCAT-AP 3:",
        "data.catalog_jsonld": "JSON-LD",
        "data.catalog_ttl": "Turtle",
        "data.ds_title": "Dataset",
        "data.publisher": "Publisher",
        "data.theme": "Theme",
        "data.updated": "Updated",
        **{f"theme.{code}": label for code, label in THEMES.items()},
    },
}
