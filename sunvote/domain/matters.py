"""The ten categories of matters that must be put to a vote (必须票决的十大事项)."""

from __future__ import annotations

from dataclasses import dataclass

from sunvote.domain.errors import N_, InvalidField


@dataclass(frozen=True)
class Category:
    """A matter category: ``code`` 1–10, Chinese name (message id), English name, legal basis."""

    code: int
    name: str
    name_en: str
    basis: str
    needs_reason: bool = False


_ART24 = N_("《村民委员会组织法》第二十四条")

CATEGORIES: tuple[Category, ...] = (
    Category(1, N_("村经济和社会发展规划及年度计划，村庄建设规划"),
             "Village economic and social development plan and annual plan; construction plan",
             N_("阳光票决制十大事项")),
    Category(2, N_("公益事业的兴办和筹资筹劳方案及建设承包方案"),
             "Public-welfare projects: fund- and labour-raising plans and construction contracting",
             _ART24),
    Category(3, N_("村级享受误工补贴的人员及补贴标准"),
             "Who receives work-loss allowances, and the allowance rates", _ART24),
    Category(4, N_("村集体经济所得收益的使用"),
             "Use of income from the collective economy", _ART24),
    Category(5, N_("土地承包经营方案"), "Land contracting plan", _ART24),
    Category(6, N_("集体经济项目的立项、承包方案"),
             "Collective economic projects: approval and contracting", _ART24),
    Category(7, N_("宅基地的使用方案"), "Homestead (residential land) allocation plan", _ART24),
    Category(8, N_("征地补偿费的使用、分配方案"),
             "Use and distribution of land-requisition compensation", _ART24),
    Category(9, N_("以借贷、租赁或者其他方式处分村集体财产"),
             "Disposal of collective property by loan, lease or otherwise", _ART24),
    Category(10, N_("涉及村集体、村民切身利益等其他事项"),
             "Other matters that closely affect the collective or villagers", _ART24,
             needs_reason=True),
)

CATEGORIES_BY_CODE: dict[int, Category] = {c.code: c for c in CATEGORIES}


def category(code: int) -> Category:
    """The category with ``code``; refuses codes outside 1–10."""
    try:
        return CATEGORIES_BY_CODE[code]
    except KeyError:
        raise InvalidField("input.invalid", N_("事项类别必须是1至10之一（收到：%(value)s）"),
                           value=code) from None
