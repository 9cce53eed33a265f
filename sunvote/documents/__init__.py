"""The documents a village prints (会议通知, 签到表, 选票, 计票单, 会议记录, 实施情况报告,
验收证明, 公示) as A4 PDFs with an embedded Chinese font: ``pdf`` lays them out, ``queries`` reads
what they say, ``views`` serves one URL per document (docs/assembly.md, docs/supervision.md)."""
