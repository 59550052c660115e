"""Small list files written the way people write them, for service and CLI tests."""
from __future__ import annotations

import csv
import io
from pathlib import Path

OPP_HEADER = ["编号", "场景名称", "发布单位", "所属领域", "所在地区", "场景描述", "能力需求", "备注"]
CAP_HEADER = ["编号", "能力名称", "供给单位", "所属领域", "所在地区", "能力描述", "成熟度"]

OPPORTUNITIES = [
    ["O-1", "医疗样本无人机转运", "无锡市第二人民医院", "低空经济", "梁溪区",
     "院区之间的检验样本靠地面车辆转运，早晚高峰拥堵，样本时效难以保证。",
     "样本箱温控2-8℃；航线规划与空域报备；样本交接全程可追溯", "优先"],
    ["O-2", "城市道路路面病害智能巡检", "无锡市梁溪区城市管理局", "智慧交通", "梁溪区",
     "道路裂缝、坑槽依靠人工巡查发现，效率低、漏检多。",
     "车载视频自动识别裂缝坑槽；识别准确率不低于90%；与数字城管平台对接", ""],
    ["O-3", "太湖蓝藻水华监测预警", "无锡市太湖治理办公室", "太湖治理", "滨湖区",
     "蓝藻水华发生快，人工采样频次低，难以提前处置。",
     "卫星与岸基视频联合监测；水华面积自动估算；提前72小时预警", ""],
]
CAPABILITIES = [
    ["C-1", "植保无人机飞防服务", "无锡田园飞控科技有限公司", "低空经济", "惠山区",
     "多旋翼植保无人机，载药量30升，用于水稻小麦病虫害飞防喷洒。", "规模化应用"],
    ["C-2", "Medical drone logistics", "Wuxi SkyCare Logistics Co., Ltd.", "低空经济", "新吴区",
     "Hospital drone logistics with temperature-controlled specimen boxes (2-8°C), route planning, "
     "airspace filing and chain-of-custody tracking between campuses.", "试点应用"],
    ["C-3", "道路表观病害AI识别", "无锡路智科技有限公司", "智慧交通", "滨湖区",
     "利用巡查车摄像头自动检测路面裂缝、坑洞和车辙，结果推送城市管理平台。", "规模化应用"],
    ["C-4", "湖泊藻华遥感监测", "无锡湖光遥感科技有限公司", "太湖治理", "滨湖区",
     "融合卫星影像和岸基摄像头估算藻华覆盖面积，结合气象数据预测水华暴发。", "试点应用"],
    ["C-5", "工业废水在线监测", "无锡清源环保科技有限公司", "节能环保", "宜兴市",
     "化工园区排口COD、氨氮在线监测与超标报警。", "规模化应用"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8",
              title: str | None = None) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if title:
        writer.writerow([title])
        writer.writerow([])
    writer.writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def lists(tmp_path: Path) -> tuple[Path, Path]:
    return (write_csv(tmp_path / "opps.csv", OPP_HEADER, OPPORTUNITIES),
            write_csv(tmp_path / "caps.csv", CAP_HEADER, CAPABILITIES))
