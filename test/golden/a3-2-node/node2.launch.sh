#!/bin/bash
# ascendctl MindIE launcher: deployment deepseek-r1, node node2 (10.0.0.2).
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
[ -f /usr/local/Ascend/atb-models/set_env.sh ] && . /usr/local/Ascend/atb-models/set_env.sh
if [ -f /usr/local/Ascend/mindie/set_env.sh ]; then
  . /usr/local/Ascend/mindie/set_env.sh
else
  # 2.0 layout
  [ -f /usr/local/Ascend/mindie/latest/mindie-llm/set_env.sh ] && . /usr/local/Ascend/mindie/latest/mindie-llm/set_env.sh
  [ -f /usr/local/Ascend/mindie/latest/mindie-service/set_env.sh ] && . /usr/local/Ascend/mindie/latest/mindie-service/set_env.sh
fi

# The deployment's environment again: the set_env scripts above set some of it themselves (ATB's
# sets ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE=1); the values rendered for this deployment win.
export MIES_CONTAINER_IP=10.0.0.2
export HOST_IP=10.0.0.2
export MASTER_IP=10.0.0.1
export RANK_TABLE_FILE=/var/lib/ascendctl/deepseek-r1/ranktable.json
export RANKTABLEFILE=/var/lib/ascendctl/deepseek-r1/ranktable.json
export MIES_CONFIG_JSON_PATH=/var/lib/ascendctl/deepseek-r1/config.json
export WORLD_SIZE=32
export HCCL_CONNECT_TIMEOUT=7200
export HCCL_EXEC_TIMEOUT=0
export HCCL_OP_EXPANSION_MODE=AIV
export HCCL_DETERMINISTIC=false
export ATB_LLM_HCCL_ENABLE=1
export ATB_LLM_COMM_BACKEND=hccl
export NPU_MEMORY_FRACTION=0.95
export OMP_NUM_THREADS=1
export PYTORCH_NPU_ALLOC_CONF=expandable_segments:True
export ATB_WORKSPACE_MEM_ALLOC_ALG_TYPE=3
export ATB_WORKSPACE_MEM_ALLOC_GLOBAL=1
export ATB_OPERATION_EXECUTE_ASYNC=1
export TASK_QUEUE_ENABLE=1
export ATB_LAYER_INTERNAL_TENSOR_REUSE=1
export ATB_LLM_ENABLE_AUTO_TRANSPOSE=0
export ATB_CONVERT_NCHW_TO_ND=1
export HCCL_RDMA_PCIE_DIRECT_POST_NOSTRICT=TRUE
export CPU_AFFINITY_CONF=1
export MIES_SERVICE_MONITOR_MODE=1
export MINDIE_ASYNC_SCHEDULING_ENABLE=1

# Logging last, and only here (not in the env file): set before the set_env scripts, these broke the ATB set-up (GPUStack).
export MINDIE_LOG_TO_STDOUT=1
export MINDIE_LOG_TO_FILE=1
export MINDIE_LOG_LEVEL=INFO

# Shared memory left by an earlier daemon makes the new one fail or hang.
rm -f /dev/shm/*llm_backend_* /dev/shm/llm_tokenizer_shared_memory_*

# CANN writes kernel_meta_temp_* into the working directory: use a writable one.
mkdir -p /tmp/ascendctl-deepseek-r1 && cd /tmp/ascendctl-deepseek-r1 || exit 1

daemon=/usr/local/Ascend/mindie/latest/mindie-service/bin/mindieservice_daemon
if [ ! -x "$daemon" ]; then
  daemon=$(command -v mindie_llm_server 2>/dev/null)
  [ -z "$daemon" ] && [ -x /usr/local/Ascend/mindie/latest/mindie-llm/bin/mindie_llm_server ] && daemon=/usr/local/Ascend/mindie/latest/mindie-llm/bin/mindie_llm_server
  [ -z "$daemon" ] && [ -x /usr/local/Ascend/mindie/latest/mindie_llm/bin/mindie_llm_server ] && daemon=/usr/local/Ascend/mindie/latest/mindie_llm/bin/mindie_llm_server
fi
if [ -z "$daemon" ]; then
  echo "ascendctl: no MindIE server in this image on node node2 (looked for mindieservice_daemon and mindie_llm_server)" >&2
  exit 127
fi
echo "ascendctl: starting $daemon on node node2"
exec "$daemon"
