#!/usr/bin/env bash
# What the lab's checks (lab/tests) need beyond the product's: festival, its three English voices
# and the eight of other languages that read the demo model's respelled digits. The demo model's
# synthetic speech is checked on the audio each voice makes (lab/tests/test_demo_data.py).
# Idempotent: installs (apt-get, as root) only what is missing. The NeMo venv the checks run in
# is the product's: bash models/setup_nemo_env.sh.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need_apt=()
command -v text2wave >/dev/null 2>&1 || need_apt+=(festival)
for pair in english/kal_diphone:festvox-kallpc16k english/ked_diphone:festvox-kdlpc16k \
  us/cmu_us_slt_arctic_hts:festvox-us-slt-hts italian/lp_diphone:festvox-italp16k \
  italian/pc_diphone:festvox-itapc16k finnish/suo_fi_lj_diphone:festvox-suopuhe-lj \
  finnish/hy_fi_mv_diphone:festvox-suopuhe-mv czech/czech_dita:festvox-czech-dita \
  czech/czech_krb:festvox-czech-krb czech/czech_ph:festvox-czech-ph \
  catalan/upc_ca_ona_hts:festvox-ca-ona-hts; do
  [ -d "/usr/share/festival/voices/${pair%%:*}" ] || need_apt+=("${pair#*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[lab] apt-get install ${need_apt[*]}"
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
