# The RAPM table's configurations as distill flags, sourced by scripts/rapm-ablations.sh, scripts/rapm-table.sh and
# scripts/farm-rapm-jobs.sh: both, regression, absolute, relative, adversarial.
# shellcheck disable=SC2034
declare -A rapm_flags=(
  [both]="--lambda-rel 1 --lambda-abs 1 --mu-rel 1 --mu-abs 1"
  [regression]="--lambda-rel 0 --lambda-abs 0 --mu-rel 1 --mu-abs 1"
  [absolute]="--lambda-rel 0 --lambda-abs 1 --mu-rel 0 --mu-abs 1"
  [relative]="--lambda-rel 1 --lambda-abs 0 --mu-rel 1 --mu-abs 0"
  [adversarial]="--lambda-rel 1 --lambda-abs 1 --mu-rel 0 --mu-abs 0"
)
