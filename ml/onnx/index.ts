/** ONNX export of Kerf models and scoring of the exported files on onnxruntime-node. */
export { exportOnnx, type ExportOnnxOptions, PRODUCER_NAME } from './export';
export {
  type KerfOnnxMetadata,
  METADATA_KEY,
  PREDICTION_OUTPUT,
  PROBABILITIES_OUTPUT,
  parseMetadata,
} from './metadata';
export {
  OnnxScorer,
  type OnnxRow,
  type OnnxScores,
  readMetadata,
  SCORING_SESSION_CONFIG,
  scoreOnnx,
  scoringSessionOptions,
} from './scorer';
