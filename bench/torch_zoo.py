#!/usr/bin/env python3
"""One network of bench/train-zoo.ts in PyTorch, built from trainyard's own validated network JSON.

bench/train-zoo.ts validates each network with trainyard's validator (padding resolved to
[top, bottom, left, right], every layer's input and output size known, a custom layer's forward
parsed and checked into an expression tree) and hands that JSON here, so that both sides train the
same network from the same definition and cannot drift apart. Layers map one to one onto torch
modules (NCHW inside; the data arrive NHWC like trainyard's), wired by each layer's validated
`inputs`, so a graph (a skip connection into an addition) is the same graph on both sides. MATLAB's sgdm defaults on both sides:
lr 0.01, momentum 0.9, L2 1e-4, glorot weights, zero biases, zero-centred input.

Timing: the wall time of the iterations after the first `--warmup` (one-off set-up costs),
per iteration. Prints one JSON line. Needs Debian's python3-torch; run it with /usr/bin/python3.
"""
import argparse, json, time
import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--network', required=True, help='the validated network JSON trainyard wrote')
p.add_argument('--data', required=True, help='folder with train-x.f32, train-y.u8, test-x.f32, test-y.u8')
p.add_argument('--iterations', type=int, required=True); p.add_argument('--warmup', type=int, default=2)
p.add_argument('--batch', type=int, default=128); p.add_argument('--threads', type=int, default=2)
p.add_argument('--test', type=int, default=1000); p.add_argument('--seed', type=int, default=0)
a = p.parse_args()
torch.manual_seed(a.seed); torch.set_num_threads(a.threads)
with open(a.network) as f:
    network = json.load(f)
h, w, c = network['inputSize']

def load(name, count):
    y = np.fromfile(f'{a.data}/{name}-y.u8', dtype=np.uint8)[:count].astype(np.int64)
    x = np.fromfile(f'{a.data}/{name}-x.f32', dtype='<f4')[: len(y) * h * w * c].reshape(len(y), h, w, c)
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)

xtr, ytr = load('train', a.batch * a.iterations); xte, yte = load('test', a.test)


class Expression(torch.nn.Module):
    """A custom layer: its checked forward expression tree, evaluated with torch ops (NHWC, as written)."""
    ops = {
        'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'pow': torch.pow, 'neg': torch.neg,
        'lt': lambda x, y: (x < y).float(), 'le': lambda x, y: (x <= y).float(), 'gt': lambda x, y: (x > y).float(),
        'ge': lambda x, y: (x >= y).float(), 'eq': lambda x, y: (x == y).float(), 'ne': lambda x, y: (x != y).float(),
        'and': lambda x, y: ((x != 0) & (y != 0)).float(), 'or': lambda x, y: ((x != 0) | (y != 0)).float(),
        'not': lambda x: (x == 0).float(), 'where': lambda q, x, y: torch.where(q != 0, x, y),
        'exp': torch.exp, 'log': torch.log, 'log1p': torch.log1p, 'sqrt': torch.sqrt, 'abs': torch.abs,
        'sign': torch.sign, 'min': torch.minimum, 'max': torch.maximum, 'tanh': torch.tanh,
        'sigmoid': torch.sigmoid, 'softplus': F.softplus, 'relu': torch.relu,
        'clip': lambda v, lo, hi: torch.minimum(torch.maximum(v, lo), hi),
    }

    def __init__(self, layer):
        super().__init__()
        self.forward_expr = layer['forward']
        self.params = torch.nn.ParameterDict()
        for slot in layer['learnables']:
            init = slot['initializer']
            shape = slot['shape']
            value = torch.rand(shape) if init == 'rand' else torch.full(shape, float({'zeros': 0, 'ones': 1}.get(init, init)))
            self.params[slot['name']] = torch.nn.Parameter(value)

    def evaluate(self, e, x):
        kind = e['kind']
        if kind == 'constant':
            return torch.tensor(e['value'], dtype=torch.float32)
        if kind == 'input':
            return x if e['name'] == 'x' else self.params[e['name']]
        if kind == 'apply':
            args = [self.evaluate(arg, x) for arg in e['args']]
            args = [t if t.dim() > 0 else t.expand(1) for t in args]
            return self.ops[e['op']](*args)
        value = self.evaluate(e['arg'], x)
        reduce = torch.sum if e['op'] == 'sum' else torch.mean
        repeats = e['repeats']['fixed'] * (x.shape[0] if e['repeats']['perObservation'] else 1)
        return reduce(value, dim=e['axes'], keepdim=True) * repeats

    def forward(self, x):
        return self.evaluate(self.forward_expr, x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LearnableAlphaElu(torch.nn.Module):
    """trainyard's elu layer: x > 0 ? x : alpha (exp(min(x, 0)) - 1), alpha learnable per channel or not."""
    def __init__(self, layer, channels):
        super().__init__()
        init = layer['alphaInitializer']
        count = channels if layer['perChannel'] else 1
        if not layer['learnable']:
            self.register_buffer('alpha', torch.full((1, 1, 1, 1), float(layer['alpha'])))
        else:
            value = torch.rand(1, count, 1, 1) if init == 'rand' else torch.full((1, count, 1, 1), float({'zeros': 0, 'ones': 1}.get(init, init)))
            self.alpha = torch.nn.Parameter(value)

    def forward(self, x):
        return torch.where(x > 0, x, self.alpha * (torch.exp(torch.clamp(x, max=0)) - 1))


def padded(module, padding, value=0.0):
    """module after padding [top, bottom, left, right]; symmetric padding goes to the module itself where it can."""
    t, b, l, r = padding
    if t == b == l == r == 0:
        return module
    return torch.nn.Sequential(torch.nn.ConstantPad2d((l, r, t, b), value), module)


def glorot(module):
    torch.nn.init.xavier_uniform_(module.weight); torch.nn.init.zeros_(module.bias)
    return module


def build(layer, flat):
    kind = layer['type']; cin = layer['inputSize'][2]
    if kind == 'convolution2d':
        t, b, l, r = layer['padding']
        symmetric = t == b and l == r
        conv = glorot(torch.nn.Conv2d(cin, layer['numFilters'], layer['filterSize'], stride=layer['stride'],
                                      dilation=layer['dilationFactor'], padding=(t, l) if symmetric else 0))
        return conv if symmetric else padded(conv, layer['padding'])
    if kind == 'batchNormalization':
        return torch.nn.BatchNorm2d(cin, eps=layer['epsilon'], momentum=0.1)
    if kind == 'relu': return torch.nn.ReLU()
    if kind == 'leakyRelu': return torch.nn.LeakyReLU(layer['scale'])
    if kind == 'clippedRelu': return torch.nn.Hardtanh(0.0, layer['ceiling'])
    if kind == 'tanh': return torch.nn.Tanh()
    if kind == 'elu': return LearnableAlphaElu(layer, cin)
    if kind == 'maxPooling2d':
        return padded(torch.nn.MaxPool2d(layer['poolSize'], layer['stride']), layer['padding'], float('-inf'))
    if kind == 'averagePooling2d':  # MATLAB counts padding as zeros
        return padded(torch.nn.AvgPool2d(layer['poolSize'], layer['stride']), layer['padding'])
    if kind == 'globalAveragePooling2d': return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    if kind == 'fullyConnected':
        dense = glorot(torch.nn.Linear(int(np.prod(layer['inputSize'])), layer['outputSize'][2]))
        return dense if flat else torch.nn.Sequential(torch.nn.Flatten(), dense)
    if kind == 'dropout': return torch.nn.Dropout(layer['probability'])
    if kind == 'custom': return Expression(layer)
    raise ValueError(f'no PyTorch module for layer type {kind}')


class Graph(torch.nn.Module):
    """The network as trainyard validated it: each layer fed by its `inputs` (a chain is a graph whose
    layers each take the one before). Layers run in an order where every input comes first; an
    addition sums its inputs (a residual block's join)."""
    def __init__(self, layers):
        super().__init__()
        by_name = {layer['name']: layer for layer in layers}
        self.order = []
        def visit(name):
            if name not in self.order:
                for source in by_name[name]['inputs']:
                    visit(source)
                self.order.append(name)
        for layer in layers:
            visit(layer['name'])
        self.inputs = {name: by_name[name]['inputs'] for name in self.order}
        self.kinds = {name: by_name[name]['type'] for name in self.order}
        self.output = next(layer['name'] for layer in layers if layer['type'] == 'classification')
        self.slots = {}  # a layer's module under its index: names may hold characters a ModuleDict refuses
        modules = torch.nn.ModuleList()
        flat = {}
        for name in self.order:
            layer = by_name[name]; kind = layer['type']
            sources = [flat[source] for source in layer['inputs']]
            flat[name] = any(sources) or kind in ('fullyConnected', 'globalAveragePooling2d')
            # the input is zero-centred below; CrossEntropyLoss applies the softmax
            if kind not in ('imageInput', 'softmax', 'classification', 'addition'):
                self.slots[name] = len(modules)
                modules.append(build(layer, any(sources)))
        self.layers = modules

    def forward(self, x):
        values = {}
        for name in self.order:
            kind = self.kinds[name]; sources = [values[source] for source in self.inputs[name]]
            if kind == 'imageInput':
                values[name] = x
            elif kind == 'addition':
                values[name] = sum(sources[1:], sources[0])
            elif name in self.slots:
                values[name] = self.layers[self.slots[name]](sources[0])
            else:
                values[name] = sources[0]
        return values[self.output]


net = Graph(network['layers'])

mean = xtr.mean(0, keepdim=True); xtr = xtr - mean; xte = xte - mean
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
lossf = torch.nn.CrossEntropyLoss()
perm = torch.randperm(len(ytr))
start = None
for i in range(a.iterations):
    if i == a.warmup:
        start = time.perf_counter()
    b = perm[i * a.batch:(i + 1) * a.batch]
    opt.zero_grad(); loss = lossf(net(xtr[b]), ytr[b]); loss.backward(); opt.step()
seconds = time.perf_counter() - start
net.eval()
with torch.no_grad():
    acc = (net(xte).argmax(1) == yte).float().mean().item()
print(json.dumps({"impl": "pytorch-" + torch.__version__, "threads": a.threads, "iterations": a.iterations,
                  "ms_per_iteration": round(1000 * seconds / (a.iterations - a.warmup), 2),
                  "test_accuracy": round(acc, 4), "final_minibatch_loss": round(loss.item(), 5)}))
