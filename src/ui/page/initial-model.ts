import { h } from './dom.js';
import { href } from './router.js';

/**
 * "model X (layers a, b; new: c)", the model a link: how the model page's lineage and the job page
 * name the model a run started from.
 */
export function initialModelPhrase(model: { id: string; name?: string | null }, layersFromModel: string[], layersNotFromModel: { layer: string }[]): (Node | string)[] {
  const newLayers = layersNotFromModel.length ? `; new: ${layersNotFromModel.map((n) => n.layer).join(', ')}` : '';
  return ['model ', h('a', { href: href({ view: 'model', id: model.id }), title: model.id }, model.name ?? model.id), ` (layers ${layersFromModel.join(', ')}${newLayers})`];
}
