"""The MAC counter on modules counted by hand, and the real sizes against the budget."""
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from profiling.macs import BUDGET_HARD_GMACS, analyse_model, count_macs
from tqcodec.configs import get_config
from tqcodec.model import TQCodec


def test_conv_and_transposed_conv_by_hand():
    conv = nn.Conv1d(3, 5, 7)
    total, _ = count_macs(conv, (torch.zeros(1, 3, 106),))
    assert total == 5 * 3 * 7 * 100
    convtr = nn.ConvTranspose1d(4, 2, 16, stride=8)
    total, _ = count_macs(convtr, (torch.zeros(1, 4, 10),))
    assert total == 4 * 2 * 16 * 10  # every input position hits every tap once


def test_lstm_by_hand():
    lstm = nn.LSTM(6, 8, num_layers=2)
    total, _ = count_macs(lstm, (torch.zeros(11, 1, 6),))
    assert total == 11 * (4 * 8 * (6 + 8) + 4 * 8 * (8 + 8))


def test_bidirectional_lstm_by_hand():
    """Two directions, and the second layer reads both directions' outputs (2·H wide)."""
    lstm = nn.LSTM(6, 8, num_layers=2, bidirectional=True)
    total, _ = count_macs(lstm, (torch.zeros(11, 1, 6),))
    assert total == 11 * 2 * (4 * 8 * (6 + 8) + 4 * 8 * (16 + 8))


def test_linear_by_hand():
    total, _ = count_macs(nn.Linear(10, 3), (torch.zeros(4, 10),))
    assert total == 4 * 10 * 3


@pytest.mark.real_size
def test_tq64_decoder_hits_the_paper_within_3_percent():
    rep = analyse_model(TQCodec(get_config("tq64")))
    assert rep.decoder_gmacs_per_s == pytest.approx(6.31, rel=0.03)
    assert rep.decoder_gmacs_per_s <= BUDGET_HARD_GMACS
    assert rep.encoder_gmacs_per_s == pytest.approx(72, rel=0.10)
    lstm = [v for k, v in rep.decoder_layers.items() if k == "model.1"][0]
    assert lstm > 0  # the LSTM is counted


@pytest.mark.real_size
def test_balanced_encoder_and_subband_decoder():
    bal = analyse_model(TQCodec(get_config("tq64-balanced")))
    assert bal.encoder_gmacs_per_s == pytest.approx(2.4, rel=0.10)
    sub = analyse_model(TQCodec(get_config("tq64-subband")))
    assert sub.decoder_gmacs_per_s <= (6.31 + 0.17) * 1.03


@pytest.mark.real_size
def test_cli_json():
    r = subprocess.run([sys.executable, "-m", "profiling.macs", "--config", "tq64", "--json"],
                       capture_output=True, text=True, check=True)
    d = json.loads(r.stdout)
    for key in ("decoder_gmacs_per_s", "encoder_gmacs_per_s", "decoder_receptive_field_samples",
                "budget_gmacs_per_s", "within_budget"):
        assert key in d
    assert d["within_budget"] is True and d["decoder_receptive_field_samples"] == 550


def test_cli_exits_nonzero_over_budget(monkeypatch, capsys):
    import profiling.budget as budget
    import profiling.macs as macs
    monkeypatch.setattr(budget, "BUDGET_HARD_GMACS", 1e-6)
    assert macs.main(["--config", "tiny"]) == 1
    assert "OVER" in capsys.readouterr().out
