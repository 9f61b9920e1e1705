# The RAPM table's configurations as distill flags, sourced by scripts/rapm-ablations.sh, scripts/rapm-table.sh and
# scripts/farm-rapm-jobs.sh: both, regression, absolute, relative, adversarial. A discriminator left out is
# switched off (--discriminators) and its weight 0, as the runs in docs/results.md recorded it.
# shellcheck disable=SC2034
declare -A rapm_flags=(
  [both]="--lambda-rel 1 --lambda-abs 1 --mu-rel 1 --mu-abs 1"
  [regression]="--lambda-rel 0 --lambda-abs 0 --discriminators off --mu-rel 1 --mu-abs 1"
  [absolute]="--lambda-rel 0 --lambda-abs 1 --discriminators absolute --mu-rel 0 --mu-abs 1"
  [relative]="--lambda-rel 1 --lambda-abs 0 --discriminators relative --mu-rel 1 --mu-abs 0"
  [adversarial]="--lambda-rel 1 --lambda-abs 1 --mu-rel 0 --mu-abs 0"
)
