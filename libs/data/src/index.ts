export { DataError, classOf, subset, type Dataset, type Task } from './dataset.js';
export { parseCsv, parseFeatureCsv, readCsv, type CsvOptions, type LabelSpec } from './csv.js';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIRS,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  fashionMnistPaths,
  idxDataset,
  parseIdx,
  readIdx,
  type FashionMnistPaths,
  type IdxArray,
  type IdxOptions,
} from './idx.js';
export { builtin, builtinNames } from './builtin.js';
export {
  SCALING_METHODS,
  applyScaling,
  fitScaling,
  scaleFeatures,
  validateScaling,
  type Scaling,
  type ScalingMethod,
} from './scaling.js';
export { splitTrainTest } from './split.js';
export { loadData, validateDataSource, type DataSource } from './source.js';
export { datasetHash } from './hash.js';
