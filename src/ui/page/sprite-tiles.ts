import { h } from './dom.js';

/** Where one tile is in a sprite, and what it shows in words. */
export interface Tile {
  x: number;
  y: number;
  label: string;
}

/**
 * Tiles cut from a sprite (a PNG fetched with the key), each on a canvas of the tile's size:
 * decoded with createImageBitmap, since the page's CSP admits no blob: images.
 */
export async function tileCanvases(sprite: Blob, [height, width]: readonly number[], tiles: readonly Tile[]): Promise<HTMLCanvasElement[]> {
  const bitmap = await createImageBitmap(sprite);
  try {
    return tiles.map((t) => {
      const canvas = h('canvas', { width: String(width), height: String(height), role: 'img', 'aria-label': t.label });
      canvas.getContext('2d')!.drawImage(bitmap, t.x, t.y, width!, height!, 0, 0, width!, height!);
      return canvas;
    });
  } finally {
    bitmap.close();
  }
}
