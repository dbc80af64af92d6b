"""Topic tags by keyword rules.

A record gets every topic whose patterns match its question, or (if the
question matches none) its answer. The table is small on purpose: it is read
by people choosing interview topics, so each tag must be obviously right.
Patterns are lower-cased substrings; English terms are matched in lower case.
"""

from __future__ import annotations

TOPICS: dict[str, tuple[str, ...]] = {
    "CNN": ("卷积", "cnn", "池化", "pooling", "感受野", "receptive", "conv", "inception", "googlenet",
            "resnet", "vgg", "feature map", "filter", "mobilenet"),
    "RNN": ("rnn", "lstm", "gru", "循环神经网络", "时序", "递归", "序列"),
    "attention": ("attention", "注意力", "transformer"),
    "normalization": ("normalization", "归一化", "规范化", "batchnorm", "bn", "layernorm", "groupnorm",
                      "标准化", "gn", "ln"),
    "regularization": ("过拟合", "欠拟合", "正则", "dropout", "dropconnect", "泛化", "overfit", "weight decay",
                       "early-stopping", "early stopping", "l1", "l2", "标签平滑", "label smoothing"),
    "optimization": ("梯度下降", "sgd", "adam", "rmsprop", "优化器", "优化", "学习率", "learning rate",
                     "收敛", "mini-batch", "二阶", "牛顿", "l-bfgs", "局部极小", "鞍点", "凸"),
    "activation": ("激活函数", "relu", "sigmoid", "tanh", "softmax", "elu", "activation"),
    "loss": ("损失", "loss", "交叉熵", "cross entropy", "mse", "成本函数", "代价函数", "smooth l1"),
    "detection": ("检测", "iou", "anchor", "ssd", "yolo", "rcnn", "fpn", "小目标", "多尺度", "detection", "roc",
                  "auc"),
    "training": ("训练", "初始化", "finetun", "fine-tun", "微调", "迁移", "超参数", "epoch", "iteration",
                 "不收敛", "蒸馏", "压缩", "剪枝", "量化", "反向传播", "backprop", "梯度消失", "梯度爆炸"),
    "fundamentals": ("神经网络", "感知机", "mlp", "深度学习", "玻尔兹曼", "张量", "tensor", "万能逼近",
                     "生成模型", "判别模型", "框架", "pytorch", "tensorflow"),
}


def _match(text: str) -> list[str]:
    low = text.lower()
    hits = []
    for topic, patterns in TOPICS.items():
        for p in patterns:
            # Two-letter abbreviations (bn, gn, ln, l1) only count as whole tokens, or "ln" would match "learning".
            if len(p) <= 2 and p.isascii():
                if _has_token(low, p):
                    hits.append(topic)
                    break
            elif p in low:
                hits.append(topic)
                break
    return hits


def _has_token(text: str, token: str) -> bool:
    start = 0
    while (i := text.find(token, start)) >= 0:
        before = text[i - 1] if i > 0 else " "
        after = text[i + len(token)] if i + len(token) < len(text) else " "
        if not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalpha()):
            return True
        start = i + 1
    return False


def tag_topics(question: str, answers: list[str]) -> list[str]:
    topics = _match(question)
    if not topics:
        topics = _match(" ".join(answers)[:600])
    return topics or ["other"]


def all_topics() -> list[str]:
    return [*TOPICS, "other"]
