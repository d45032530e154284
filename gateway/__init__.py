"""The exchange gateway (流动人口信息交换网关)."""

__version__ = "0.1.0"
