// The method packages the CLI ships with. Importing one registers its method and presets; nothing else in the CLI
// names a method.
import '@peftjs/lora';
import '@peftjs/dora';
import '@peftjs/prompt';
import '@peftjs/ia3';
import '@peftjs/bottleneck';
import '@peftjs/waveft';
import '@peftjs/vblora';
import '@peftjs/adalora';
import '@peftjs/quant-nf4';
