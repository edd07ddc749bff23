/**
 * The linear baseline: ridge, logistic and softmax regression on standardised numeric and one-hot
 * categorical features, producing a `LinearModel` (ml/model.ts). The implementation lives in
 * ml/linear/: design.ts (preprocessing and sparse design), optimize.ts (Cholesky, L-BFGS),
 * objective.ts (losses), train.ts and predict.ts.
 */
export {
  fitLinear,
  trainLinear,
  type LinearFit,
  type LinearOptions,
  type LinearSolver,
} from './linear/train';
export { predictLinear, predictLinearRaw, predictLinearTable } from './linear/predict';
