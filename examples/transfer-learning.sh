#!/bin/sh
# Transfer learning, MATLAB-style, against a running trainyard (npm start):
#   1. train the seed network on the built-in digits;
#   2. upload a dataset of other classes (an archive of class folders: ARCHIVE, 5 classes here);
#   3. train examples/transfer-five-classes.json on it from the model of step 1: its conv_1,
#      batchnorm_1 and elu_1 take the model's weights (conv_1 learning 10x slower), fc_five
#      (a new name, 5 outputs) starts afresh.
# Usage: sh examples/transfer-learning.sh my-five-classes.zip
set -eu
URL=${TRAINYARD_URL:-http://127.0.0.1:3000}
ARCHIVE=${1:?an archive of 5 class folders of 28x28 grey images}
field() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s)$1))"; }
wait_job() { until [ "$(curl -s "$URL/v1/jobs/$1" | field .status)" = completed ]; do sleep 2; done; }

base=$(curl -s "$URL/v1/jobs" -H 'content-type: application/json' \
  -d "{\"name\": \"digits-base\", \"network\": $(cat examples/seed-elu.json), \"dataset\": \"digits\", \"options\": {\"maxEpochs\": 2}}" | field .id)
wait_job "$base"

dataset=$(curl -s "$URL/v1/datasets?name=five-classes" -H 'content-type: application/zip' --data-binary "@$ARCHIVE" | field .id)
until [ "$(curl -s "$URL/v1/datasets/$dataset" | field .status)" = ready ]; do sleep 2; done

tuned=$(curl -s "$URL/v1/jobs" -H 'content-type: application/json' \
  -d "{\"name\": \"five-from-digits\", \"network\": $(cat examples/transfer-five-classes.json), \"dataset\": \"$dataset\", \"initialModel\": \"$base\", \"options\": {\"maxEpochs\": 2}}")
echo "$tuned" | field .initialModel   # which layers start from digits-base, and why fc_five does not
wait_job "$(echo "$tuned" | field .id)"
curl -s "$URL/v1/models/$(echo "$tuned" | field .id)" | field .lineage
