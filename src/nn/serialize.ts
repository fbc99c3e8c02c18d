import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Classifier } from './classifier.js';
import { customLayerClasses } from './layers/index.js';
import type { Network } from './spec.js';

/** A model in tfjs's own format: what model.json and its weights file hold. */
export interface ModelFiles {
  /** The content of model.json, weight paths included. */
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
}

export const weightsFileName = 'weights.bin';

/** The model as tfjs's layers-model files, with a note of the classes a tfjs user must register. */
export async function toModelFiles(classifier: Classifier): Promise<ModelFiles> {
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
            note: `Loading this model with tf.loadLayersModel needs layer classes registered under these names: ${used.join(', ')}`,
          },
        },
        weights: new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)),
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return files!;
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
