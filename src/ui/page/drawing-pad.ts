import type { Grey } from './digit-image.js';
import { h } from './dom.js';

/** Drawing resolution: this many canvas pixels for each model input pixel. */
const zoom = 10;

/**
 * A pad to draw on in white on black, as MNIST's digits are: with a mouse, a pen or a finger
 * (pointer events), or from the keyboard (arrow keys move, Space puts the pen down or lifts it,
 * Delete clears). `onChange` is called as the drawing changes.
 */
export class DrawingPad {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly cursor = h('div', { class: 'pad-cursor', hidden: true });
  private last: { x: number; y: number } | null = null;
  private keyboard = { x: 0, y: 0, penDown: false };

  constructor(
    width: number,
    height: number,
    private readonly onChange: (drawing: Grey) => void,
  ) {
    this.canvas = h('canvas', {
      width: String(width * zoom),
      height: String(height * zoom),
      tabindex: '0',
      role: 'img',
      'aria-label': 'Drawing pad. Draw a digit with the mouse or a finger, or with the arrow keys: Space puts the pen down or lifts it, Delete clears.',
    });
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    this.element = h('div', { class: 'pad' }, this.canvas, this.cursor);
    this.blank();
    this.listen();
  }

  clear(): void {
    this.blank();
    this.onChange(this.drawing());
  }

  private blank(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.keyboard = { x: this.canvas.width / 2, y: this.canvas.height / 2, penDown: false };
    this.placeCursor();
  }

  private drawing(): Grey {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const pixels = new Float32Array(width * height);
    for (let i = 0; i < pixels.length; i++) pixels[i] = rgba[i * 4]! / 255;
    return { width, height, pixels };
  }

  /** A stroke from the last point (a dot when there is none), with a pen about as wide as MNIST's. */
  private strokeTo(x: number, y: number): void {
    const ctx = this.ctx;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 2.2 * zoom;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(this.last?.x ?? x, this.last?.y ?? y);
    ctx.lineTo(x, y);
    ctx.stroke();
    this.last = { x, y };
  }

  private listen(): void {
    const canvas = this.canvas;
    const toCanvas = (e: PointerEvent) => {
      const box = canvas.getBoundingClientRect();
      return { x: ((e.clientX - box.left) / box.width) * canvas.width, y: ((e.clientY - box.top) / box.height) * canvas.height };
    };
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = null;
      const p = toCanvas(e);
      this.strokeTo(p.x, p.y);
      this.onChange(this.drawing());
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!canvas.hasPointerCapture(e.pointerId)) return;
      for (const move of e.getCoalescedEvents?.() ?? [e]) {
        const p = toCanvas(move);
        this.strokeTo(p.x, p.y);
      }
      this.onChange(this.drawing());
    });
    const end = () => {
      this.last = null;
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('keydown', (e) => this.key(e));
    // The keyboard pen shows only when the pad was reached from the keyboard (not when clicked).
    canvas.addEventListener('focus', () => {
      this.cursor.hidden = !canvas.matches(':focus-visible');
    });
    canvas.addEventListener('blur', () => {
      this.cursor.hidden = true;
    });
  }

  private key(e: KeyboardEvent): void {
    const step = zoom * (e.shiftKey ? 4 : 1);
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const k = this.keyboard;
    const move = moves[e.key];
    if (move) {
      k.x = Math.min(this.canvas.width, Math.max(0, k.x + move[0]));
      k.y = Math.min(this.canvas.height, Math.max(0, k.y + move[1]));
    } else if (e.key === ' ') {
      k.penDown = !k.penDown;
      this.last = null;
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      return this.clear();
    } else {
      return;
    }
    e.preventDefault();
    this.placeCursor();
    if (k.penDown) {
      this.strokeTo(k.x, k.y);
      this.onChange(this.drawing());
    }
  }

  /** The keyboard pen's position, drawn over the canvas (not on it, so it is not part of the digit). */
  private placeCursor(): void {
    this.cursor.style.left = `${(100 * this.keyboard.x) / this.canvas.width}%`;
    this.cursor.style.top = `${(100 * this.keyboard.y) / this.canvas.height}%`;
    this.cursor.classList.toggle('pen-down', this.keyboard.penDown);
  }
}
