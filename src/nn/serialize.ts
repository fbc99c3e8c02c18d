import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Classifier } from './classifier.js';
import { customLayerClasses, ImageInput } from './layers/index.js';
import type { Network } from './spec.js';

/** A model in tfjs's own format: what model.json and its weights file hold. */
export interface ModelFiles {
  /** The content of model.json, weight paths included. */
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

export const weightsFileName = 'weights.bin';

/**
 * The model as tfjs's layers-model files, with what a plain tfjs user needs in its metadata: the
 * classes to register (trainyard/tfjs-layers has them), how the input layer normalises, and
 * `extraMetadata` (the training images' statistics, from the manifest).
 */
export async function toModelFiles(classifier: Classifier, extraMetadata: Record<string, unknown> = {}): Promise<ModelFiles> {
  let files: ModelFiles | null = null;
  await classifier.model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const used = customLayerClasses.filter((name) => JSON.stringify(artifacts.modelTopology).includes(`"${name}"`));
      files = {
        modelJson: {
          format: 'layers-model',
          generatedBy: `trainyard (TensorFlow.js ${tf.version_core})`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [weightsFileName], weights: artifacts.weightSpecs }],
          userDefinedMetadata: {
            classes: classifier.classes,
            customLayers: used,
            note: `Loading this model with tf.loadLayersModel needs layer classes registered under these names: ${used.join(', ')} (import 'trainyard/tfjs-layers' registers them all)`,
            input: inputMetadata(classifier),
            ...extraMetadata,
          },
        },
        weights: new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)),
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return files!;
}

/** How the model's first layer turns an image into the network's input, in words and weight names. */
function inputMetadata(classifier: Classifier): Record<string, unknown> | undefined {
  // A functional model (a graph) starts with tfjs's InputLayer, the ImageInput after it.
  const input = classifier.model.layers.find((layer) => layer instanceof ImageInput);
  if (!input) return undefined;
  const stored = input.normalization !== 'none';
  return {
    layer: input.name,
    size: input.inputSize,
    layout: 'NHWC float32: [batch, height, width, channels]',
    normalization: input.normalization,
    formula: stored ? '(x - offset) * scale' : 'x (no normalisation)',
    ...(stored ? { offset: `${input.name}/offset`, scale: `${input.name}/scale` } : {}),
    note: 'the model normalises by itself: feed images as the training images were (inputStatistics: value range and polarity), not normalised ones',
  };
}

/** Rebuilds a classifier from its files; trainyard's own layer classes are registered by import. */
export async function fromModelFiles(files: ModelFiles, network: Network, classes: string[]): Promise<Classifier> {
  const manifest = files.modelJson['weightsManifest'] as tf.io.WeightsManifestConfig | undefined;
  if (!manifest) throw new Error('model.json has no weightsManifest');
  const weights = files.weights.buffer.slice(files.weights.byteOffset, files.weights.byteOffset + files.weights.byteLength) as ArrayBuffer;
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelJson['modelTopology'] as tf.io.ModelJSON['modelTopology'],
      weightSpecs: manifest.flatMap((group) => group.weights),
      weightData: weights,
    }),
  );
  return new Classifier(model, network, classes);
}
