#!/bin/bash
# ascendctl vLLM-Ascend launcher: deployment deepseek-r1, node node2 (10.0.0.2).
# Written by ascendctl on every deploy; edits are overwritten.
# It is the container's main process, so `docker logs` and the container's exit status follow the server.
# No `set -u`: the CANN/ATB/MindIE set_env.sh scripts expand unset variables.
# No `set -e`: a set_env.sh that returns non-zero must not abort the launch; the server is checked for below.

# Proxies break inter-node traffic; ASCEND_LAUNCH_BLOCKING serialises every kernel launch.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY ASCEND_LAUNCH_BLOCKING

# The image's .bashrc sources these for interactive shells only.
if [ -f /usr/local/Ascend/ascend-toolkit/set_env.sh ]; then
  . /usr/local/Ascend/ascend-toolkit/set_env.sh
elif [ -f /usr/local/Ascend/cann/set_env.sh ]; then
  . /usr/local/Ascend/cann/set_env.sh
fi
[ -f /usr/local/Ascend/nnal/atb/set_env.sh ] && . /usr/local/Ascend/nnal/atb/set_env.sh

# The deployment's environment again: the set_env scripts above set some of it themselves (ATB's
# sets ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE=1); the values rendered for this deployment win.
export HCCL_IF_IP=10.0.0.2
export OMP_PROC_BIND=false
export OMP_NUM_THREADS=1
export HCCL_BUFFSIZE=200
export HCCL_OP_EXPANSION_MODE=AIV
export HCCL_CONNECT_TIMEOUT=1800
export HCCL_INTRA_PCIE_ENABLE=1
export HCCL_INTRA_ROCE_ENABLE=0
export PYTORCH_NPU_ALLOC_CONF=expandable_segments:True
export TASK_QUEUE_ENABLE=1
export VLLM_ENGINE_READY_TIMEOUT_S=3600
export VLLM_RPC_TIMEOUT=3600000
export VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS=3600

# HCCL, gloo and TP choose their NIC by name, which differs between servers: find the one carrying this node's address.
node_ip=10.0.0.2
ifname=$(ip -o -4 addr show 2>/dev/null | awk -v ip="$node_ip" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }')
if [ -z "$ifname" ]; then
  # Images without iproute2: vLLM depends on psutil.
  ifname=$(python3 -c 'import sys, psutil; print(next((n for n, addrs in psutil.net_if_addrs().items() for a in addrs if a.address == sys.argv[1]), ""))' "$node_ip" 2>/dev/null)
fi
if [ -z "$ifname" ]; then
  echo "ascendctl: no network interface carries $node_ip on node node2" >&2
  exit 1
fi
export GLOO_SOCKET_IFNAME="${GLOO_SOCKET_IFNAME:-$ifname}"
export TP_SOCKET_IFNAME="${TP_SOCKET_IFNAME:-$ifname}"
export HCCL_SOCKET_IFNAME="${HCCL_SOCKET_IFNAME:-$ifname}"

# CANN writes kernel_meta_temp_* into the working directory: use a writable one.
mkdir -p /tmp/ascendctl-deepseek-r1 && cd /tmp/ascendctl-deepseek-r1 || exit 1

echo "ascendctl: starting vllm serve on node node2 (DP ranks 2–3, headless)"
exec vllm serve /data/models/DeepSeek-R1 \
  --served-model-name deepseek-r1 \
  --host 10.0.0.2 \
  --port 1025 \
  --data-parallel-size 4 \
  --data-parallel-size-local 2 \
  --data-parallel-address 10.0.0.1 \
  --data-parallel-rpc-port 1120 \
  --tensor-parallel-size 4 \
  --enable-expert-parallel \
  --gpu-memory-utilization 0.92 \
  --max-model-len 16384 \
  --max-num-seqs 16 \
  --max-num-batched-tokens 4096 \
  --quantization ascend \
  --trust-remote-code \
  --headless \
  --data-parallel-start-rank 2
